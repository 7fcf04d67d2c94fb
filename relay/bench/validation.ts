import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Block, blockHash, buildBlock, verifyPayload, verifySignature } from '@blyan/block';
import { MemoryChain, validateBlock } from '@blyan/chain';
import { privateKeyToAccount } from 'viem/accounts';
import { relayRules } from '../src/config.ts';
import { openRelay } from '../src/relay.ts';
import { time } from './timing.ts';

const signer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const rules = relayRules();
export const EXPERT_BYTES = 300_000;
export const N_BLOCKS = 120;

async function expertBlocks(): Promise<{ chain: MemoryChain; meta: Block; blocks: Block[] }> {
  const chain = new MemoryChain();
  const slots = Array.from({ length: N_BLOCKS }, (_, i) => ({ name: `layer${i >> 4}.expert${i & 15}`, type: 'expert' as const }));
  const meta = await buildBlock({ type: 'meta', index: 0, name: 'model', depends_on: [], prev: null, payload: new Uint8Array(64), meta: { arch: 'bench', slots, authorities: [signer.address.toLowerCase() as `0x${string}`], evaluators: [] } }, signer);
  const r = await chain.submit(meta, rules);
  if (!r.ok) throw new Error(r.message);
  const blocks: Block[] = [];
  for (const s of slots) {
    blocks.push(
      await buildBlock(
        { type: 'expert', index: 0, name: s.name, depends_on: [blockHash(meta.header)], prev: null, payload: new Uint8Array(randomBytes(EXPERT_BYTES)), meta: { encoding: 'tensors-v1' } },
        signer,
      ),
    );
  }
  return { chain, meta, blocks };
}

/** Validations per second on expert-sized blocks, and accepted submissions per second on the store. */
export async function validation(): Promise<string[][]> {
  const { chain, meta, blocks } = await expertBlocks();
  const row = (what: string, secs: number) => [what, `${(blocks.length / secs).toFixed(0)} blocks/s`, `${((secs / blocks.length) * 1000).toFixed(2)} ms/block`];
  const rate = async (what: string, fn: (b: Block) => unknown) =>
    row(
      what,
      await time(async () => {
        for (const b of blocks) await fn(b);
      }, 3),
    );
  const rows = [
    await rate('validateBlock (all rules, payload, signature)', async (b) => {
      const v = await validateBlock(chain, b, rules);
      if (!v.ok) throw new Error(v.message);
    }),
    await rate('  of which verifyPayload (size, SHA-256, Merkle)', (b) => verifyPayload(b.header, b.payload)),
    await rate('  of which signature recovery', (b) => verifySignature(b.header)),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'blyan-bench-'));
  try {
    const relay = await openRelay(dir, rules);
    await relay.ledger.submit(meta);
    const start = performance.now();
    for (const b of blocks) {
      const r = await relay.ledger.submit(b);
      if (!r.ok) throw new Error(r.message);
    }
    rows.push(row('Ledger.submit (validate + fsync payload + SQLite commit)', (performance.now() - start) / 1000));
    await relay.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}


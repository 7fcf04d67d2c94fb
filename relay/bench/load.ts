/**
 * The relay under load with its limits in (not a test): `blyan serve` in its own process on
 * loopback; 50 downloaders fetch expert payloads while 5 writers append new signed versions of
 * their slots, in alternating phases without (baseline) and with a nonce flood from the same
 * client address (in a third process), so background load on a shared machine hits both alike.
 * Then the relay is killed -9 mid-write and restarted: every block it acknowledged (201) must
 * still be there, and `blyan verify` must pass.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, get, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Block, type Hash, type Signer, blockHash, buildBlock, encodeBlock } from '@blyan/block';
import type { ModelConfig } from '@blyan/model';
import { privateKeyToAccount } from 'viem/accounts';
import { formatTable } from '../src/cli/table.ts';
import { genesisKey, relayRules } from '../src/config.ts';
import { genesisFromCheckpoint } from '../src/genesis.ts';
import { randomCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import { BIN, startRelay } from './relay-process.ts';
import { mbps } from './timing.ts';

/** Experts of ~300 KB (int8 384 × 256 × 3 plus scales), 8 of them. */
const MODEL: ModelConfig = { vocabSize: 300, dModel: 256, nLayers: 2, nHeads: 4, nExperts: 4, topK: 1, dFF: 384, contextLength: 64, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const run = promisify(execFile);
const FLOOD = join(import.meta.dirname, 'nonce-flood.ts');
const DOWNLOADERS = 50;
const WRITERS = 5;
const FLOODERS = 32;
const PHASE_MS = 5_000;
const ROUNDS = 3;

/** One HTTP exchange: status, body bytes, and the Retry-After header. */
function exchange(agent: Agent, url: string, method: 'GET' | 'POST', body?: Uint8Array): Promise<{ status: number; bytes: number; retryAfter: number }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/octet-stream', 'content-length': String(body.length) };
    const req = (method === 'GET' ? get : request)(url, { agent, method, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, retryAfter: Number(res.headers['retry-after'] ?? 1) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The next version of `prev` with the same tensors, signed by `signer`. */
const nextVersion = (prev: Block, meta: Hash, signer: Signer, n: number) =>
  buildBlock(
    { type: 'expert', index: prev.header.index + 1, name: prev.header.name, depends_on: [meta, blockHash(prev.header)], prev: blockHash(prev.header), payload: prev.payload, meta: { encoding: 'tensors-v1' }, created_at: Date.now() + n },
    signer,
  );

interface Phase {
  bytes: number;
  downloads: number;
  writes: number;
  throttledWrites: number;
  nonces: { ok: number; limited: number; other: number };
}

/**
 * Runs downloaders and writers (and flooders when `flood`) for PHASE_MS against `url`. Writers
 * extend `heads` and record every acknowledged block in `acked`.
 */
async function phase(url: string, experts: Hash[], heads: Map<string, Block>, meta: Hash, signer: Signer, acked: Block[], flood: 'none' | 'relay' | 'control'): Promise<Phase> {
  const agent = new Agent({ keepAlive: true, maxSockets: DOWNLOADERS + WRITERS });
  const p: Phase = { bytes: 0, downloads: 0, writes: 0, throttledWrites: 0, nonces: { ok: 0, limited: 0, other: 0 } };
  const end = performance.now() + PHASE_MS;
  const downloader = async (i: number) => {
    for (let n = i; performance.now() < end; n++) {
      const r = await exchange(agent, `${url}/v1/blocks/${experts[n % experts.length]}/payload`, 'GET');
      if (r.status !== 200) throw new Error(`download answered ${r.status}`);
      p.bytes += r.bytes;
      p.downloads++;
    }
  };
  const writer = async (slot: string) => {
    for (let n = 0; performance.now() < end; n++) {
      const b = await nextVersion(heads.get(slot)!, meta, signer, n);
      const r = await exchange(agent, `${url}/v1/blocks`, 'POST', encodeBlock(b));
      if (r.status === 201) {
        heads.set(slot, b);
        acked.push(b);
        p.writes++;
      } else if (r.status === 429) {
        p.throttledWrites++;
        await new Promise((s) => setTimeout(s, r.retryAfter * 1000));
      } else throw new Error(`write answered ${r.status}`);
    }
  };
  const flooder = async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', FLOOD, flood === 'relay' ? url : 'control', String(FLOODERS), String(Date.now() + PHASE_MS)]);
    p.nonces = JSON.parse(stdout) as Phase['nonces'];
  };
  await Promise.all([...Array.from({ length: DOWNLOADERS }, (_, i) => downloader(i)), ...[...heads.keys()].map(writer), ...(flood === 'none' ? [] : [flooder()])]);
  agent.destroy();
  return p;
}

const dir = await mkdtemp(join(tmpdir(), 'blyan-load-'));
try {
  const key = privateKeyToAccount((await genesisKey(dir, true)).key);
  const seeding = await openRelay(dir, relayRules());
  const genesis = await genesisFromCheckpoint(randomCheckpoint(MODEL), 'random checkpoint', key);
  for (const b of genesis) await seeding.ledger.submit(b);
  await seeding.close();
  const meta = blockHash(genesis[0]!.header);
  const expertBlocks = genesis.filter((b) => b.header.type === 'expert');
  const experts = expertBlocks.map((b) => blockHash(b.header));
  const heads = new Map(expertBlocks.slice(0, WRITERS).map((b) => [b.header.name, b]));
  const acked: Block[] = [];

  let relay = await startRelay(dir);
  const quiet: Phase[] = [];
  const flooded: Phase[] = [];
  const control: Phase[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    quiet.push(await phase(relay.url, experts, heads, meta, key, acked, 'none'));
    flooded.push(await phase(relay.url, experts, heads, meta, key, acked, 'relay'));
    control.push(await phase(relay.url, experts, heads, meta, key, acked, 'control'));
  }

  // Kill -9 while the writers are mid-upload, then restart on the same store.
  const killed = phase(relay.url, experts, heads, meta, key, acked, 'none').catch(() => null);
  await new Promise((r) => setTimeout(r, 1500));
  relay.child.kill('SIGKILL');
  await once(relay.child, 'exit');
  await killed;
  relay = await startRelay(dir);
  let missing = 0;
  const agent = new Agent({ keepAlive: true });
  for (const b of acked) if ((await exchange(agent, `${relay.url}/v1/blocks/${blockHash(b.header)}`, 'GET')).status !== 200) missing++;
  agent.destroy();
  relay.child.kill('SIGTERM');
  await once(relay.child, 'exit');
  const verify = spawnSync(process.execPath, [BIN, 'verify', '--store', dir], { encoding: 'utf8' });

  const secs = (ROUNDS * PHASE_MS) / 1000;
  const total = (ps: Phase[]): Phase => ({
    bytes: ps.reduce((s, p) => s + p.bytes, 0),
    downloads: ps.reduce((s, p) => s + p.downloads, 0),
    writes: ps.reduce((s, p) => s + p.writes, 0),
    throttledWrites: ps.reduce((s, p) => s + p.throttledWrites, 0),
    nonces: { ok: ps.reduce((s, p) => s + p.nonces.ok, 0), limited: ps.reduce((s, p) => s + p.nonces.limited, 0), other: ps.reduce((s, p) => s + p.nonces.other, 0) },
  });
  const row = (name: string, p: Phase) => [
    name,
    mbps(p.bytes, secs),
    String(Math.round(p.downloads / secs)),
    String(p.writes),
    String(p.throttledWrites),
    p.nonces.ok + p.nonces.limited + p.nonces.other === 0 ? '-' : `${Math.round((p.nonces.ok + p.nonces.limited + p.nonces.other) / secs)}/s (${p.nonces.ok} issued, ${p.nonces.limited} × 429)`,
  ];
  console.log(`\nLoad on loopback: ${DOWNLOADERS} downloaders of ~${(expertBlocks[0]!.payload.length / 1000).toFixed(0)} KB expert payloads, ${WRITERS} writers appending signed versions; ${ROUNDS} rounds of three ${PHASE_MS / 1000} s phases (${secs} s each in all); relay, clients and flood in three processes`);
  console.log(
    formatTable(['phase', 'download throughput', 'downloads/s', 'writes acked', 'writes 429', 'nonce requests'], [
      row('no flood (baseline)', total(quiet)),
      row(`nonce flood at the relay (${FLOODERS} connections)`, total(flooded)),
      row('same flood at a stub (control: its CPU only)', total(control)),
    ]),
  );
  const pct = (a: Phase[], b: Phase[]) => {
    const c = (total(a).bytes / total(b).bytes - 1) * 100;
    return `${c >= 0 ? '+' : ''}${c.toFixed(1)} %`;
  };
  console.log(`\nthroughput with the flood at the relay: ${pct(flooded, quiet)} against no flood (goal: within 20 %), ${pct(flooded, control)} against the same flood at a stub`);
  console.log(`kill -9 mid-write, restart: ${acked.length} blocks acknowledged in all, ${missing} missing; blyan verify: ${verify.status === 0 ? 'ok' : `FAILED\n${verify.stdout}${verify.stderr}`}`);
  if (missing > 0 || verify.status !== 0) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}

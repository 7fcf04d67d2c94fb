import { readdir } from 'node:fs/promises';
import { type BlockHeader, blockHash } from '@blyan/block';
import { afterEach, describe, expect, it } from 'vitest';
import { importGenesis } from '../../src/cli/seed.ts';
import { type GenesisFile, genesisFile, genesisFromCheckpoint } from '../../src/genesis.ts';
import type { Relay } from '../../src/relay.ts';
import { TRUST, emptyRelay, genesisAccount, importedBlocks, miner, tinyCheckpoint } from '../helpers.ts';

const open: { relay: Relay; dir: string; close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

/** An empty relay on this test project's back-end, closed after the test. */
async function empty(): Promise<Relay> {
  const r = await emptyRelay();
  open.push(r);
  return r.relay;
}

/** The tiny network's published genesis: its pin and signed headers. */
async function published(): Promise<GenesisFile> {
  return genesisFile(await genesisFromCheckpoint(tinyCheckpoint(), 'tiny', genesisAccount, { createdAt: 1_700_000_000_000, trust: TRUST }));
}

/** Imports `file` with `checkpoint` into an empty relay; expects `error` and an empty store afterwards. */
async function refused(file: GenesisFile, error: RegExp, checkpoint = tinyCheckpoint()): Promise<void> {
  const relay = await empty();
  await expect(importGenesis(relay.ledger, JSON.stringify(file), checkpoint, { genesis: 'genesis.json', checkpoint: 'tiny.tensors' }, () => undefined)).rejects.toThrow(error);
  expect(await relay.index.counts()).toEqual({ A: 0, B: 0, D: 0 });
  expect(await relay.index.metaHead()).toBeNull();
}

const edit = (file: GenesisFile, i: number, patch: Partial<BlockHeader>): GenesisFile => ({
  ...file,
  headers: file.headers.map((h, j) => (j === i ? ({ ...h, ...patch } as BlockHeader) : h)),
});

describe('attacks on the genesis import (no private key: signed headers + a checkpoint)', () => {
  it('the published genesis imports, and a second relay holds the same blocks', async () => {
    const file = await published();
    const first = await importedBlocks(file, tinyCheckpoint());
    expect(first).toEqual(file.headers.map((h) => blockHash(h)));
    expect(await importedBlocks(file, tinyCheckpoint())).toEqual(first);
  });

  it("a slot header edited after signing (created_at): refused as another key's signature, nothing stored", async () => {
    const file = await published();
    await refused(edit(file, 3, { created_at: file.headers[3]!.created_at + 1 }), /is refused: wrong_author/);
  });

  it('the meta header edited to name another evaluator: refused against the pin, nothing stored', async () => {
    const file = await published();
    const meta = file.headers[0]! as BlockHeader & { type: 'meta' };
    await refused(edit(file, 0, { meta: { ...meta.meta, evaluators: [miner.address.toLowerCase() as `0x${string}`] } }), /hashes to .*, not the pinned/);
  });

  it('the meta header edited and re-pinned: refused, its signature is no longer the authority’s', async () => {
    const file = await published();
    const meta = file.headers[0]! as BlockHeader & { type: 'meta' };
    const tampered = edit(file, 0, { meta: { ...meta.meta, authorities: [miner.address.toLowerCase() as `0x${string}`] } });
    await refused({ ...tampered, meta: blockHash(tampered.headers[0]!) }, /genesis block model is refused: wrong_author/);
  });

  it('a checkpoint that does not rebuild to the headers (other weights): refused, nothing stored', async () => {
    await refused(await published(), /does not rebuild genesis block embed: payload_hash_mismatch/, tinyCheckpoint(2));
  });

  it('a genesis missing one slot block: refused, nothing stored', async () => {
    const file = await published();
    await refused({ ...file, headers: file.headers.slice(0, -1) }, /has 12 slot blocks, the model of tiny.tensors has 13 slots/);
  });

  it('the store holds no key afterwards: importing needs none and makes none', async () => {
    const relay = await empty();
    await importGenesis(relay.ledger, JSON.stringify(await published()), tinyCheckpoint(), { genesis: 'g', checkpoint: 'c' }, () => undefined);
    const dir = open.at(-1)!.dir;
    expect((await readdir(dir)).filter((n) => n.endsWith('.key'))).toEqual([]);
  });
});

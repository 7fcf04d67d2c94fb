import { type ChildProcess, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Block, type BlockHeader, type Hash, blockHash, payloadHash } from '@blyan/block';
import { afterAll, describe, expect, it } from 'vitest';
import { type TestBackend, currentBackend, testBackend } from './backends.ts';
import { GENESIS_KEY, OCTETS, paramBlock, tempDir, tinyCheckpoint, wireBody } from './helpers.ts';
import { BIN, startServe } from './serve-process.ts';

const SLOTS = ['layer0.expert0', 'layer0.expert1', 'layer0.expert2', 'layer0.expert3', 'layer1.expert0', 'layer1.expert1', 'layer1.expert2', 'layer1.expert3'];
const KILL_AFTER = 40;
/** Kills before the final start: three on SQLite's files; one on PostgreSQL + S3, where each start costs CI more and the database, not a file, recovers. */
const ROUNDS = currentBackend() === 'embedded' ? 3 : 1;

const children: ChildProcess[] = [];
const dirs: string[] = [];
let backend: TestBackend | undefined;
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await backend?.drop();
});

/** `blyan serve` on `store` and this test project's back-end (on postgres+s3, the killed relay's database and bucket). */
const start = (b: TestBackend, store: string, extra: string[] = []) => startServe(children, store, [...extra, ...b.flags], b.env);

const json = async (url: string) => (await fetch(url)).json();
const asPrev = (header: BlockHeader): Block => ({ header, payload: new Uint8Array(0) });

/**
 * One round: 8 clients (signing as the genesis authority, whose key the store holds) upload new versions of 8 slots concurrently, each starting from the slot's
 * current head; after `KILL_AFTER` acknowledgements the relay gets SIGKILL at a random moment.
 */
async function uploadUntilKilled(relay: { child: ChildProcess; url: string }, acked: Map<string, Block[]>, round: number): Promise<number> {
  const { meta, slots } = await json(`${relay.url}/v1/params`);
  let count = 0;
  let seed = round * 100_000;
  const worker = async (slot: string) => {
    let prev = asPrev((await json(`${relay.url}/v1/blocks/${slots[slot]}`)).header);
    for (;;) {
      const b = await paramBlock({ meta, name: slot, prev, seed: ++seed, size: 20_000 + ((seed * 7919) % 180_000) });
      let status: number;
      try {
        status = (await fetch(`${relay.url}/v1/blocks`, { method: 'POST', body: wireBody(b), headers: OCTETS })).status;
      } catch {
        return;
      }
      if (status !== 201) throw new Error(`unexpected ${status}`);
      acked.get(slot)!.push(b);
      prev = b;
      if (++count === KILL_AFTER) setTimeout(() => relay.child.kill('SIGKILL'), Math.random() * 20);
    }
  };
  await Promise.all(SLOTS.map(worker));
  if (relay.child.exitCode === null && relay.child.signalCode === null) await once(relay.child, 'exit');
  expect(relay.child.signalCode).toBe('SIGKILL');
  return count;
}

function verifyStoreCli(b: TestBackend, store: string): void {
  const r = spawnSync(process.execPath, [BIN, 'verify', '--store', store, ...b.flags], { encoding: 'utf8', env: { ...process.env, ...b.env } });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain('OK');
}

describe('crash safety', () => {
  it('loses no acknowledged block when the relay is killed -9 mid-upload, again and again', async () => {
    const b = (backend = await testBackend());
    const dir = await tempDir();
    dirs.push(dir);
    const store = join(dir, 'store');
    const ckpt = join(dir, 'tiny.tensors');
    await writeFile(ckpt, tinyCheckpoint());
    await mkdir(store);
    await writeFile(join(store, 'genesis.key'), `${GENESIS_KEY}\n`, { mode: 0o600 });
    const acked = new Map<string, Block[]>(SLOTS.map((s) => [s, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const relay = await start(b, store, round === 0 ? ['--checkpoint', ckpt] : []);
      expect(await uploadUntilKilled(relay, acked, round)).toBeGreaterThanOrEqual(KILL_AFTER);
    }

    const relay = await start(b, store);
    verifyStoreCli(b, store);
    const { meta } = await json(`${relay.url}/v1/params`);
    for (const [slot, blocks] of acked) {
      for (const b of blocks) {
        const r = await fetch(`${relay.url}/v1/blocks/${blockHash(b.header)}/payload`);
        expect(r.status, slot).toBe(200);
        expect(payloadHash(new Uint8Array(await r.arrayBuffer()))).toBe(b.header.payload_hash);
      }
      const { history } = await json(`${relay.url}/v1/params/${slot}/history`);
      const stored: Hash[] = history.map((x: { hash: Hash }) => x.hash);
      const ackedHashes = new Set(blocks.map((b) => blockHash(b.header)));
      expect(stored.filter((h) => ackedHashes.has(h))).toEqual(blocks.map((b) => blockHash(b.header)));
      expect(stored.length - 1 - blocks.length).toBeLessThanOrEqual(ROUNDS);
      const head = asPrev((await json(`${relay.url}/v1/blocks/${stored.at(-1)}`)).header);
      const next = await paramBlock({ meta, name: slot, prev: head, seed: 999_999 });
      expect((await fetch(`${relay.url}/v1/blocks`, { method: 'POST', body: wireBody(next), headers: OCTETS })).status).toBe(201);
    }
    relay.child.kill('SIGTERM');
    await once(relay.child, 'exit');
    verifyStoreCli(b, store);
  }, 150_000);
});

import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { type Block, blockHash } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, OCTETS, fixture, paramBlock, tempDir, wireBody } from './helpers.ts';
import { type ServeProcess, startServe } from './serve-process.ts';

/**
 * Three `blyan serve` processes on their own ports and store folders, sharing one PostgreSQL
 * database and one S3 prefix (the fixture's, seeded with the tiny genesis): they answer as one relay.
 */
const children: ChildProcess[] = [];
const dirs: string[] = [];
let f: Fixture;
let replicas: ServeProcess[];

beforeAll(async () => {
  f = await fixture();
  const { database, objects } = f.backend.backends;
  for (let i = 0; i < 3; i++) dirs.push(await tempDir());
  replicas = await Promise.all(dirs.map((d) => startServe(children, d, ['--database', database!, '--objects', objects!], f.backend.env)));
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await f.close();
});

const post = (r: ServeProcess, b: Block) => fetch(`${r.url}/v1/blocks`, { method: 'POST', body: wireBody(b), headers: OCTETS });
const genesisOf = (name: string) => f.genesis.find((b) => b.header.name === name)!;

describe('three relay replicas on one database and one bucket', () => {
  it('serve a block accepted by one from all of them at once, and all refuse a stale head', async () => {
    const next = await paramBlock({ meta: f.meta, name: 'layer0.expert1', prev: genesisOf('layer0.expert1'), seed: 11, size: 50_000 });
    const hash = blockHash(next.header);
    expect((await post(replicas[0]!, next)).status).toBe(201);
    for (const r of replicas) {
      expect((await (await fetch(`${r.url}/v1/params`)).json()).slots['layer0.expert1']).toBe(hash);
      const payload = new Uint8Array(await (await fetch(`${r.url}/v1/blocks/${hash}/payload`)).arrayBuffer());
      expect(Buffer.from(payload).equals(next.payload)).toBe(true);
      const ranged = await fetch(`${r.url}/v1/blocks/${hash}/payload`, { headers: { Range: 'bytes=100-199' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(next.payload.subarray(100, 200))).toBe(true);
    }
    const stale = await paramBlock({ meta: f.meta, name: 'layer0.expert1', prev: genesisOf('layer0.expert1'), seed: 12 });
    for (const r of replicas) {
      const res = await post(r, stale);
      expect(res.status).toBe(409);
      expect((await res.json()).error.code).toBe('stale_prev');
    }
    expect((await post(replicas[2]!, next)).status).toBe(200);
  });

  it('let exactly one of two racing submissions on different replicas move a head', async () => {
    const prev = genesisOf('layer1.expert3');
    const rivals = await Promise.all([21, 22, 23].map((seed) => paramBlock({ meta: f.meta, name: 'layer1.expert3', prev, seed })));
    const statuses = await Promise.all(rivals.map(async (b, i) => (await post(replicas[i]!, b)).status));
    const winner = rivals[statuses.indexOf(201)];
    expect([...statuses].sort()).toEqual([201, 409, 409]);
    const heads = await Promise.all(replicas.map(async (r) => (await (await fetch(`${r.url}/v1/params`)).json()).slots['layer1.expert3']));
    expect(heads).toEqual(replicas.map(() => blockHash(winner!.header)));
  });
});

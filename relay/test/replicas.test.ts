import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { type Block, type BlockHeader, type Hash, blockHash } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Requester, clock, login, newAccount, nonce, postJson, remote, siweMessage } from './accounts-helpers.ts';
import { type Fixture, OCTETS, fixture, paramBlock, tempDir, wireBody } from './helpers.ts';
import { type DownloadTally, type ServeProcess, downloader, startServe } from './serve-process.ts';

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
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await f.close();
});

/** Every nonce a replica answered in this file: they all count against one client's limit. */
let noncesAsked = 0;
const counted = (r: ServeProcess): Requester => ({
  async request(path, init) {
    const res = await remote(r.url).request(path, init);
    if (path === '/v1/auth/nonce') noncesAsked++;
    return res;
  },
});
const me = (r: ServeProcess, cookie: string) => fetch(`${r.url}/v1/auth/me`, { headers: { cookie } });

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

  it('lose nothing acknowledged when one is killed -9 while 30 clients download and 5 upload: survivors serve every acknowledged block, no client sees wrong bytes', async () => {
    const SLOTS = ['layer0.expert2', 'layer0.expert3', 'layer1.expert0', 'layer1.expert1', 'layer1.expert2'];
    const payloads = new Map<Hash, Uint8Array>(f.genesis.map((b) => [blockHash(b.header), b.payload]));
    const acked: Block[] = [];
    const alive = new Set(replicas);
    const pick = () => [...alive][Math.floor(Math.random() * alive.size)]!;
    let stop = false;
    const contributor = async (slot: string, seed: number) => {
      while (!stop) {
        const r = pick();
        try {
          const head: Hash = (await (await fetch(`${r.url}/v1/params`)).json()).slots[slot];
          const header: BlockHeader = (await (await fetch(`${r.url}/v1/blocks/${head}`)).json()).header;
          const b = await paramBlock({ meta: f.meta, name: slot, prev: { header, payload: new Uint8Array(0) }, seed: seed++, size: 20_000 });
          payloads.set(blockHash(b.header), b.payload);
          if ((await post(pick(), b)).status === 201) acked.push(b);
        } catch {
          // the replica died under this request: nothing was acknowledged, try another
        }
      }
    };
    const tally: DownloadTally = { downloads: 0, wrong: 0 };
    const next = () => {
      const known = [...payloads.keys()].filter((h) => f.genesis.some((g) => blockHash(g.header) === h) || acked.some((a) => blockHash(a.header) === h));
      return known[Math.floor(Math.random() * known.length)]!;
    };
    const clients = [...SLOTS.map((s, i) => contributor(s, 1000 * (i + 1))), ...Array.from({ length: 30 }, () => downloader(tally, () => !stop, pick, next, (h) => payloads.get(h)!))];
    while (acked.length < 10) await new Promise((r) => setTimeout(r, 50));
    const victim = replicas[0]!;
    alive.delete(victim);
    victim.child.kill('SIGKILL');
    const ackedAtKill = acked.length;
    while (acked.length < ackedAtKill + 10) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(clients);
    expect(tally.wrong).toBe(0);
    expect(tally.downloads).toBeGreaterThan(0);
    for (const r of alive) {
      for (const b of acked) {
        const got = new Uint8Array(await (await fetch(`${r.url}/v1/blocks/${blockHash(b.header)}/payload`)).arrayBuffer());
        expect(Buffer.from(got).equals(b.payload)).toBe(true);
      }
      for (const slot of SLOTS) {
        const history: Hash[] = (await (await fetch(`${r.url}/v1/params/${slot}/history`)).json()).history.map((h: { hash: Hash }) => h.hash);
        expect(history).toEqual(expect.arrayContaining(acked.filter((b) => b.header.name === slot).map((b) => blockHash(b.header))));
        expect((await (await fetch(`${r.url}/v1/params`)).json()).slots[slot]).toBe(history.at(-1));
      }
    }
  }, 60_000);
});

describe('sign-in on three replicas sharing one database', () => {
  it('a session opened on one replica is live on the others, and a logout on one ends it on all', async () => {
    clock.now = Date.now();
    const [a, b] = replicas.slice(1) as [ServeProcess, ServeProcess];
    const who = await login(counted(a));
    for (const r of [a, b]) expect((await (await me(r, who.cookie)).json()).account).toBe(who.account);
    expect((await fetch(`${b.url}/v1/auth/logout`, { method: 'POST', headers: { cookie: who.cookie } })).status).toBe(200);
    for (const r of [a, b]) expect((await me(r, who.cookie)).status).toBe(401);
  });

  it('a nonce issued by one replica signs in once on another, and is refused on every replica after', async () => {
    clock.now = Date.now();
    const [a, b] = replicas.slice(1) as [ServeProcess, ServeProcess];
    const wallet = newAccount();
    const n = await nonce(counted(a));
    const attempt = async (r: ServeProcess) => {
      const key = newAccount();
      const message = siweMessage(wallet.address, n, { sessionKey: key.address });
      return postJson(remote(r.url), '/v1/auth/login', { message, signature: await wallet.signMessage({ message }), key_signature: await key.signMessage({ message }) });
    };
    const raced = await Promise.all([attempt(b), attempt(a), attempt(b)]);
    expect(raced.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    for (const r of raced.filter((x) => x.status === 401)) expect((await r.json()).error.code).toBe('unknown_nonce');
    expect((await attempt(a)).status).toBe(401);
  });

  it('one client gets the nonce limit once across all replicas, not once per replica', async () => {
    const survivors = replicas.slice(1);
    const statuses: number[] = [];
    for (let i = 0; statuses.at(-1) !== 429 && i < 200; i++) statuses.push((await counted(survivors[i % survivors.length]!).request('/v1/auth/nonce', { method: 'POST' })).status);
    expect(noncesAsked - 1).toBe(60);
    expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
    for (const r of survivors) expect((await fetch(`${r.url}/v1/auth/nonce`, { method: 'POST' })).status).toBe(429);
  });
});

import { type Block, type Hash, blockHash, equalBytes, hashBytes, merkleRoot, merkleRootOfLeaves, verifyTile } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, fixture, paramBlock, submit } from './helpers.ts';

let f: Fixture;
let big: Block;
let bigHash: Hash;
const BIG = 5 * 4096 + 1234;

beforeAll(async () => {
  f = await fixture();
  const genesisExpert = f.genesis.find((b) => b.header.name === 'layer1.expert2')!;
  big = await paramBlock({ meta: f.meta, name: 'layer1.expert2', prev: genesisExpert, seed: 7, size: BIG, tileSize: 4096 });
  bigHash = blockHash(big.header);
  expect((await submit(f.app, big)).status).toBe(201);
});
afterAll(() => f.close());

const get = (path: string, headers: Record<string, string> = {}) => Promise.resolve(f.app.request(path, { headers }));
const body = async (r: Response) => new Uint8Array(await r.arrayBuffer());

describe('read routes', () => {
  it('GET /v1/health counts blocks and names the meta head', async () => {
    const r = await get('/v1/health');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, blocks: f.genesis.length + 1, meta_head: f.meta });
  });

  it('GET /v1/heads gives the meta head, the version and per-chain counts and heads', async () => {
    const j = await (await get('/v1/heads')).json();
    expect(j.meta_head).toBe(f.meta);
    expect(j.version).toBe(f.meta);
    expect(j.chains.A).toEqual({ count: 1, head: f.meta });
    expect(j.chains.B.count).toBe(f.genesis.length);
    expect(j.chains.B.heads).toEqual({ ...f.slots, 'layer1.expert2': bigHash });
    expect(j.chains.D).toEqual({ count: 0, heads: {} });
  });

  it('GET /v1/params gives the current ParamIndex; ?meta= the one at that meta block', async () => {
    const now = await (await get('/v1/params')).json();
    expect(now).toEqual({ meta: f.meta, version: f.meta, slots: { ...f.slots, 'layer1.expert2': bigHash } });
    const at = await (await get(`/v1/params?meta=${f.meta}`)).json();
    expect(at).toEqual(now);
    expect((await get('/v1/params?meta=xyz')).status).toBe(400);
    expect((await get(`/v1/params?meta=${'ab'.repeat(32)}`)).status).toBe(404);
    const notMeta = await get(`/v1/params?meta=${bigHash}`);
    expect(notMeta.status).toBe(400);
    expect((await notMeta.json()).error.code).toBe('not_meta');
  });

  it('GET /v1/params/:name/history lists versions oldest first', async () => {
    const j = await (await get(`/v1/params/layer1.expert2/history?version=${f.meta}`)).json();
    expect(j.version).toBe(f.meta);
    expect(j.history.map((h: { hash: string }) => h.hash)).toEqual([f.slots['layer1.expert2'], bigHash]);
    expect(j.history[1]).toMatchObject({ index: 1, author: big.header.author, created_at: big.header.created_at });
    expect(j.history[1].seq).toBeGreaterThan(j.history[0].seq);
    const current = await (await get('/v1/params/layer1.expert2/history')).json();
    expect(current.history).toEqual(j.history);
    expect((await (await get('/v1/params/nothing.here/history')).json()).history).toEqual([]);
    expect((await get(`/v1/params/layer1.expert2/history?version=${bigHash}`)).status).toBe(404);
    expect((await get('/v1/params/bad%20name/history')).status).toBe(400);
  });

  it('GET /v1/blocks pages through headers in acceptance order, optionally by chain', async () => {
    const all = await (await get('/v1/blocks?limit=1000')).json();
    expect(all.blocks.map((b: { hash: string }) => b.hash)).toEqual([...f.genesis.map((b) => blockHash(b.header)), bigHash]);
    expect(all.blocks.map((b: { seq: number }) => b.seq)).toEqual(all.blocks.map((_: unknown, i: number) => i + 1));
    const page = await (await get('/v1/blocks?after=3&limit=2')).json();
    expect(page.blocks.map((b: { seq: number }) => b.seq)).toEqual([4, 5]);
    expect(page.next).toBe(5);
    const metas = await (await get('/v1/blocks?chain=A')).json();
    expect(metas.blocks).toHaveLength(1);
    expect(metas.blocks[0].header).toEqual(f.genesis[0]!.header);
    for (const q of ['after=-1', 'limit=0', 'limit=5000', 'chain=Q', 'after=x']) {
      const r = await get(`/v1/blocks?${q}`);
      expect(r.status, q).toBe(400);
      expect((await r.json()).error.code, q).toBe('bad_query');
    }
  });

  it('GET /v1/blocks/:hash gives the header and seq; 404 unknown, 400 bad syntax', async () => {
    const j = await (await get(`/v1/blocks/${bigHash}`)).json();
    expect(j).toEqual({ hash: bigHash, seq: f.genesis.length + 1, version: f.meta, slot: 'layer1.expert2', header: big.header, verdict: null });
    const missing = await get(`/v1/blocks/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    for (const bad of ['abc', 'G'.repeat(64), 'AB'.repeat(32)]) {
      const r = await get(`/v1/blocks/${bad}`);
      expect(r.status).toBe(400);
      expect((await r.json()).error.code).toBe('bad_hash');
    }
    for (const sub of ['payload', 'leaves', 'tiles/0']) expect((await get(`/v1/blocks/${'0'.repeat(64)}/${sub}`)).status).toBe(404);
  });

  it('GET payload serves the bytes, immutable, with the block hash as ETag', async () => {
    const r = await get(`/v1/blocks/${bigHash}/payload`);
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe(`"${bigHash}"`);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('content-length')).toBe(String(BIG));
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(equalBytes(await body(r), big.payload)).toBe(true);
  });

  it('GET payload honours a single Range with 206 and Content-Range', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 100],
      ['bytes=100-', 100, BIG],
      ['bytes=-50', BIG - 50, BIG],
      ['bytes=4000-4200', 4000, 4201],
      [`bytes=10-${BIG + 500}`, 10, BIG],
      [`bytes=-${BIG * 2}`, 0, BIG],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(`/v1/blocks/${bigHash}/payload`, { range });
      expect(r.status, range).toBe(206);
      expect(r.headers.get('content-range'), range).toBe(`bytes ${start}-${end - 1}/${BIG}`);
      expect(r.headers.get('content-length'), range).toBe(String(end - start));
      expect(equalBytes(await body(r), big.payload.subarray(start, end)), range).toBe(true);
    }
  });

  it('GET payload: unsatisfiable Range → 416; malformed or multiple ranges → the whole payload', async () => {
    for (const range of [`bytes=${BIG}-`, `bytes=${BIG + 10}-${BIG + 20}`, 'bytes=-0']) {
      const r = await get(`/v1/blocks/${bigHash}/payload`, { range });
      expect(r.status, range).toBe(416);
      expect(r.headers.get('content-range'), range).toBe(`bytes */${BIG}`);
      expect((await r.json()).error.code).toBe('range_not_satisfiable');
    }
    for (const range of ['bytes=0-1,5-9', 'items=0-5', 'bytes=9-2', 'bytes=abc']) {
      const r = await get(`/v1/blocks/${bigHash}/payload`, { range });
      expect(r.status, range).toBe(200);
      expect((await body(r)).length, range).toBe(BIG);
    }
    const stale = await get(`/v1/blocks/${bigHash}/payload`, { range: 'bytes=0-9', 'if-range': '"other"' });
    expect(stale.status).toBe(200);
    const fresh = await get(`/v1/blocks/${bigHash}/payload`, { range: 'bytes=0-9', 'if-range': `"${bigHash}"` });
    expect(fresh.status).toBe(206);
  });

  it('GET payload answers If-None-Match with 304 and no body', async () => {
    for (const inm of [`"${bigHash}"`, `W/"${bigHash}"`, `"x", "${bigHash}"`, '*']) {
      const r = await get(`/v1/blocks/${bigHash}/payload`, { 'if-none-match': inm });
      expect(r.status, inm).toBe(304);
      expect(r.headers.get('etag')).toBe(`"${bigHash}"`);
      expect(r.headers.get('cache-control')).toContain('immutable');
      expect((await body(r)).length).toBe(0);
    }
    expect((await get(`/v1/blocks/${bigHash}/payload`, { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('HEAD payload gives the headers without a body', async () => {
    const r = await f.app.request(`/v1/blocks/${bigHash}/payload`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(BIG));
    expect((await body(r)).length).toBe(0);
  });

  it('GET leaves: the concatenated leaf hashes recompute merkle_root', async () => {
    const r = await get(`/v1/blocks/${bigHash}/leaves`);
    expect(r.status).toBe(200);
    const raw = await body(r);
    expect(raw.length).toBe(6 * 32);
    expect(r.headers.get('blyan-tile-count')).toBe('6');
    const leaves = Array.from({ length: 6 }, (_, i) => raw.subarray(i * 32, i * 32 + 32));
    expect(merkleRootOfLeaves(leaves)).toBe(big.header.merkle_root);
    expect(merkleRoot(big.payload, 4096)).toBe(big.header.merkle_root);
  });

  it('GET tiles/:i: each tile verifies against merkle_root with its Blyan-Proof', async () => {
    const rebuilt = new Uint8Array(BIG);
    for (let i = 0; i < 6; i++) {
      const r = await get(`/v1/blocks/${bigHash}/tiles/${i}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('blyan-tile-count')).toBe('6');
      const proof = r.headers.get('blyan-proof')!.split(',').map((h) => hashBytes(h as Hash));
      const tile = await body(r);
      expect(tile.length).toBe(i < 5 ? 4096 : 1234);
      expect(verifyTile(big.header.merkle_root, 6, i, tile, proof)).toBe(true);
      expect(verifyTile(big.header.merkle_root, 6, (i + 1) % 6, tile, proof)).toBe(false);
      rebuilt.set(tile, i * 4096);
    }
    expect(equalBytes(rebuilt, big.payload)).toBe(true);
    expect((await get(`/v1/blocks/${bigHash}/tiles/6`)).status).toBe(404);
    expect((await get(`/v1/blocks/${bigHash}/tiles/-1`)).status).toBe(400);
    expect((await get(`/v1/blocks/${bigHash}/tiles/1.5`)).status).toBe(400);
  });

  it('a one-tile payload has an empty proof', async () => {
    const small = f.slots['layer0.router']!;
    const r = await get(`/v1/blocks/${small}/tiles/0`);
    expect(r.headers.get('blyan-proof')).toBe('');
    const header = (await (await get(`/v1/blocks/${small}`)).json()).header;
    expect(verifyTile(header.merkle_root, 1, 0, await body(r), [])).toBe(true);
  });

  it('CORS: preflight allows Range and exposes the proof headers', async () => {
    const r = await f.app.request(`/v1/blocks/${bigHash}/payload`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')).toContain('Range');
    const g = await get(`/v1/blocks/${bigHash}/tiles/0`, { origin: 'https://app.example' });
    expect(g.headers.get('access-control-expose-headers')).toContain('Blyan-Proof');
  });

  it('unknown routes are JSON 404s', async () => {
    const r = await get('/v1/nope');
    expect(r.status).toBe(404);
    expect((await r.json()).error.code).toBe('no_route');
  });
});

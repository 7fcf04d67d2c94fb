import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type Block, type Hash, blockHash, equalBytes } from '@blyan/block';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { relayListener } from '../src/server/app.ts';
import type { AppDeps } from '../src/server/deps.ts';
import { CachedObjectStore } from '../src/store/cached-object-store.ts';
import { currentBackend, s3Client } from './backends.ts';
import { type Fixture, UNLIMITED, fixture, paramBlock, submit } from './helpers.ts';

/**
 * Payloads over real HTTP through `relayListener` (what `blyan serve` runs): the node:http fast
 * path in front of the Hono app, on this project's store back-end.
 */
const BIG = 5 * 4096 + 1234;
const APP_ORIGIN = 'http://localhost:5173';

let f: Fixture;
let big: Block;
let bigHash: Hash;
const servers: Server[] = [];

async function listen(deps: AppDeps, payloadUrl?: string): Promise<string> {
  return serveOn(createServer(relayListener(deps, undefined, payloadUrl)));
}

/** A static file server over `root`, as nginx or a CDN origin would serve an objects/ folder. */
function listenObjects(root: string): Promise<string> {
  const app = new Hono();
  app.get('*', serveStatic({ root }));
  return serveOn(createServer(getRequestListener(app.fetch)));
}

async function serveOn(server: Server): Promise<string> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const deps = (over: Partial<AppDeps> = {}): AppDeps => ({ ...f.relay, maxPayloadBytes: 1 << 20, limits: UNLIMITED, ...over });

/** Replaces the stored bytes of `hash` behind the relay's back (a corrupted disk or bucket). */
async function overwriteObject(hash: Hash, bytes: Uint8Array): Promise<void> {
  if (f.backend.name === 'embedded') return writeFile(join(f.dir, 'objects', hash.slice(0, 2), hash.slice(2)), bytes);
  const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(f.backend.backends.objects!)!;
  const s3 = s3Client();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${hash.slice(0, 2)}/${hash.slice(2)}`, Body: bytes }));
  s3.destroy();
}

let base: string;
beforeAll(async () => {
  f = await fixture();
  const prev = f.genesis.find((b) => b.header.name === 'layer1.expert2')!;
  big = await paramBlock({ meta: f.meta, name: 'layer1.expert2', prev, seed: 7, size: BIG, tileSize: 4096 });
  bigHash = blockHash(big.header);
  expect((await submit(f.app, big)).status).toBe(201);
  base = await listen(deps());
});
afterAll(async () => {
  for (const s of servers) s.close();
  await f.close();
});

const path = (hash: Hash = bigHash) => `/v1/blocks/${hash}/payload`;
const bodyOf = async (r: Response) => new Uint8Array(await r.arrayBuffer());
/** The headers that carry meaning (not Date, Connection, Keep-Alive). */
function meaningful(r: Response): Record<string, string> {
  const out: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    if (!['date', 'connection', 'keep-alive'].includes(k)) out[k] = v;
  });
  return out;
}

describe(`payloads over HTTP, fast path in front of Hono (${currentBackend()})`, () => {
  const cases: [string, RequestInit][] = [
    ['plain GET', {}],
    ['GET from the app origin', { headers: { origin: APP_ORIGIN } }],
    ['GET from another origin', { headers: { origin: 'https://elsewhere.example' } }],
    ['first 100 bytes', { headers: { range: 'bytes=0-99' } }],
    ['open range', { headers: { range: 'bytes=100-' } }],
    ['suffix range', { headers: { range: 'bytes=-50' } }],
    ['range past the end, clamped', { headers: { range: `bytes=10-${BIG + 500}` } }],
    ['suffix longer than the payload', { headers: { range: `bytes=-${BIG * 2}` } }],
    ['multiple ranges → whole payload', { headers: { range: 'bytes=0-1,5-9' } }],
    ['malformed range → whole payload', { headers: { range: 'bytes=9-2' } }],
    ['range, If-Range names another entity → whole payload', { headers: { range: 'bytes=0-9', 'if-range': '"other"' } }],
    ['range, If-Range names this one', { headers: { range: 'bytes=0-9', 'if-range': '"ETAG"' } }],
    ['If-None-Match with this ETag', { headers: { 'if-none-match': '"ETAG"' } }],
    ['If-None-Match weak, in a list', { headers: { 'if-none-match': '"x", W/"ETAG"' } }],
    ['If-None-Match *', { headers: { 'if-none-match': '*' } }],
    ['If-None-Match another ETag → 200', { headers: { 'if-none-match': '"other"' } }],
    ['unsatisfiable range → 416', { headers: { range: `bytes=${BIG}-` } }],
    ['zero suffix → 416', { headers: { range: 'bytes=-0' } }],
    ['HEAD', { method: 'HEAD' }],
    ['HEAD of a range', { method: 'HEAD', headers: { range: 'bytes=5-9' } }],
  ];
  const withEtag = (init: RequestInit): RequestInit => ({
    ...init,
    headers: Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k, v.replace('ETAG', bigHash)])),
  });

  it.each(cases)('%s: the same status, headers and bytes as the Hono route', async (_, init) => {
    const req = withEtag(init);
    const fast = await fetch(`${base}${path()}`, req);
    const hono = await f.app.request(path(), req);
    expect(fast.status).toBe(hono.status);
    const [fh, hh] = [meaningful(fast), meaningful(hono)];
    if (hh['content-length'] === undefined) delete fh['content-length']; // node:http adds it to Hono's JSON errors on the wire
    expect(fh).toEqual(hh);
    expect(equalBytes(await bodyOf(fast), await bodyOf(hono))).toBe(true);
  });

  it('serves the exact bytes, ranges included, with immutable caching, the block hash as ETag and CORS', async () => {
    const full = await fetch(`${base}${path()}`, { headers: { origin: APP_ORIGIN } });
    expect(full.status).toBe(200);
    expect(full.headers.get('etag')).toBe(`"${bigHash}"`);
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(full.headers.get('content-length')).toBe(String(BIG));
    expect(full.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(full.headers.get('vary')).toBe('Origin');
    expect(equalBytes(await bodyOf(full), big.payload)).toBe(true);
    for (const [range, start, end] of [['bytes=4000-4200', 4000, 4201], ['bytes=-1', BIG - 1, BIG]] as const) {
      const r = await fetch(`${base}${path()}`, { headers: { range } });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end - 1}/${BIG}`);
      expect(equalBytes(await bodyOf(r), big.payload.subarray(start, end))).toBe(true);
    }
    const again = await fetch(`${base}${path()}`, { headers: { 'if-none-match': `"${bigHash}"` } });
    expect(again.status).toBe(304);
    expect((await bodyOf(again)).length).toBe(0);
  });

  it('many concurrent keep-alive downloads all get the exact bytes', async () => {
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${base}${path()}`, { headers: i % 2 ? { range: `bytes=${i}-${i * 100}` } : {} }).then(bodyOf)));
    got.forEach((b, i) => expect(equalBytes(b, i % 2 ? big.payload.subarray(i, i * 100 + 1) : big.payload), String(i)).toBe(true));
  });

  it('unknown block → 404 JSON, malformed hash → 400, other methods and routes → the Hono app', async () => {
    const missing = await fetch(`${base}${path('0'.repeat(64) as Hash)}`, { headers: { origin: 'https://x.example' } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('not_found');
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    const bad = await fetch(`${base}/v1/blocks/${'AB'.repeat(32)}/payload`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('bad_hash');
    const unsat = await fetch(`${base}${path()}`, { headers: { range: `bytes=${BIG}-` } });
    expect(unsat.status).toBe(416);
    expect((await unsat.json()).error.code).toBe('range_not_satisfiable');
    const post = await fetch(`${base}${path()}`, { method: 'POST' });
    expect(post.status).toBe(404);
    const preflight = await fetch(`${base}${path()}`, { method: 'OPTIONS', headers: { origin: 'https://x.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' } });
    expect(preflight.status).toBe(204);
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  });

  it('a payload bigger than the cache is streamed by the Hono route, ranges exact', async () => {
    const small = await listen(deps({ objects: new CachedObjectStore(f.relay.objects, 4096, 8192) }));
    const full = await fetch(`${small}${path()}`);
    expect(full.status).toBe(200);
    expect(equalBytes(await bodyOf(full), big.payload)).toBe(true);
    for (const [range, start, end] of [['bytes=4095-8200', 4095, 8201], ['bytes=-5000', BIG - 5000, BIG], ['bytes=0-0', 0, 1]] as const) {
      const r = await fetch(`${small}${path()}`, { headers: { range } });
      expect(r.status, range).toBe(206);
      expect(r.headers.get('content-range'), range).toBe(`bytes ${start}-${end - 1}/${BIG}`);
      expect(equalBytes(await bodyOf(r), big.payload.subarray(start, end)), range).toBe(true);
    }
    expect((await fetch(`${small}${path()}`, { headers: { 'if-none-match': `"${bigHash}"` } })).status).toBe(304);
  });

  it('never serves stored bytes that do not match the payload hash: 500, and the bytes are not kept', async () => {
    const victim = f.genesis.find((b) => b.header.name === 'layer0.expert1')!;
    const h = victim.header.payload_hash;
    const original = Uint8Array.from(victim.payload);
    const wrong = Uint8Array.from(original);
    wrong[10]! ^= 1;
    await overwriteObject(h, wrong);
    const fresh = await listen(deps({ objects: new CachedObjectStore(f.relay.objects, 1 << 20, 1 << 22) }));
    for (const init of [{}, { headers: { range: 'bytes=0-20' } }]) {
      const r = await fetch(`${fresh}${path(blockHash(victim.header))}`, init);
      expect(r.status).toBe(500);
      expect((await r.json()).error.code).toBe('internal');
    }
    await overwriteObject(h, original);
    const healed = await fetch(`${fresh}${path(blockHash(victim.header))}`);
    expect(healed.status).toBe(200);
    expect(equalBytes(await bodyOf(healed), original)).toBe(true);
  });

  it('--payload-url: a known block is redirected (307) to the payload hash under the URL; an unknown one is 404', async () => {
    const cdn = await listen(deps(), 'https://cdn.example/blyan/');
    const h = big.header.payload_hash;
    for (const init of [{}, { headers: { range: 'bytes=0-9' } }, { method: 'HEAD' }]) {
      const r = await fetch(`${cdn}${path()}`, { ...init, redirect: 'manual' });
      expect(r.status).toBe(307);
      expect(r.headers.get('location')).toBe(`https://cdn.example/blyan/${h.slice(0, 2)}/${h.slice(2)}`);
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
    }
    expect((await fetch(`${cdn}${path('1'.repeat(64) as Hash)}`, { redirect: 'manual' })).status).toBe(404);
  });

  it('--payload-url at the objects themselves (a static server over objects/, or the bucket): following the redirect gets the exact bytes, ranges too', async () => {
    const objects = f.backend.name === 'embedded' ? await listenObjects(join(f.dir, 'objects')) : `${inject('s3Endpoint')}/${f.backend.backends.objects!.slice('s3://'.length)}`;
    const relay = await listen(deps(), objects);
    const full = await fetch(`${relay}${path()}`);
    expect(full.status).toBe(200);
    expect(full.redirected).toBe(true);
    expect(equalBytes(await bodyOf(full), big.payload)).toBe(true);
    const part = await fetch(`${relay}${path()}`, { headers: { range: 'bytes=4000-4200' } });
    expect(part.status).toBe(206);
    expect(equalBytes(await bodyOf(part), big.payload.subarray(4000, 4201))).toBe(true);
  });
});

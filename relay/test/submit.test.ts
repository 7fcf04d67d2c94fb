import { type Block, type Hash, blockHash, buildBlock, encodeBlock } from '@blyan/block';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, bytes, fixture, genesisAccount, miner, paramBlock, post, storeState, submit, TRUST } from './helpers.ts';

let f: Fixture;
let g: (name: string) => Block;

beforeEach(async () => {
  f = await fixture(64 * 1024);
  g = (name) => f.genesis.find((b) => b.header.name === name)!;
});
afterEach(() => f.close());

/** Expects `res` to be the given JSON error and the store to be exactly as before. */
async function refused(send: () => Promise<Response>, status: number, code: string): Promise<void> {
  const before = await storeState(f);
  const r = await send();
  expect(r.status, code).toBe(status);
  expect(await r.json(), code).toEqual({ error: { code, message: expect.any(String) } });
  expect(await storeState(f), code).toEqual(before);
}

function wire(header: unknown, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + payload.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(payload, 4 + json.length);
  return out;
}

describe('POST /v1/blocks', () => {
  it('accepts a new version of a slot with 201 { hash, seq } and serves it', async () => {
    const before = await storeState(f);
    const b = await paramBlock({ meta: f.meta, name: 'layer0.expert1', prev: g('layer0.expert1'), seed: 3 });
    const r = await submit(f.app, b);
    expect(r.status).toBe(201);
    const hash = blockHash(b.header);
    expect(await r.json()).toEqual({ hash, seq: f.genesis.length + 1 });
    expect(r.headers.get('location')).toBe(`/v1/blocks/${hash}`);
    expect(await storeState(f)).toEqual({ rows: before.rows + 1, files: before.files + 1, head: f.meta });
    expect((await (await f.app.request('/v1/params')).json()).slots['layer0.expert1']).toBe(hash);
  });

  it('answers a retry of a stored block with 200 and the same { hash, seq }, changing nothing', async () => {
    const b = await paramBlock({ meta: f.meta, name: 'layer0.expert1', prev: g('layer0.expert1'), seed: 3 });
    const first = await (await submit(f.app, b)).json();
    const before = await storeState(f);
    const again = await submit(f.app, b);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
    expect(await storeState(f)).toEqual(before);
    const genesisAgain = await submit(f.app, f.genesis[0]!);
    expect(genesisAgain.status).toBe(200);
    expect((await genesisAgain.json()).seq).toBe(1);
  });

  it('a stored hash with a different payload is a duplicate, not a retry', async () => {
    const b = g('layer0.expert1');
    await refused(() => submit(f.app, { ...b, payload: bytes(b.payload.length, 99) }), 409, 'duplicate');
  });

  it('serializes racing submissions: one wins a slot, the others get 409 stale_prev', async () => {
    const prev = g('layer1.expert0');
    const racers = await Promise.all([1, 2, 3, 4, 5].map((seed) => paramBlock({ meta: f.meta, name: 'layer1.expert0', prev, seed })));
    const statuses = (await Promise.all(racers.map((b) => submit(f.app, b)))).map((r) => r.status);
    expect(statuses.sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it('accepts a dataset block on chain D', async () => {
    const d = await buildBlock(
      { type: 'dataset', index: 0, name: 'corpus-train', depends_on: [f.meta], prev: null, payload: new TextEncoder().encode('hello world'), meta: { encoding: 'text-utf8' } },
      genesisAccount,
    );
    expect((await submit(f.app, d)).status).toBe(201);
    const heads = await (await f.app.request('/v1/heads')).json();
    expect(heads.chains.D).toEqual({ count: 1, heads: { 'corpus-train': blockHash(d.header) } });
    expect((await (await f.app.request('/v1/params')).json()).slots['corpus-train']).toBeUndefined();
  });

  it('refuses every bad submission with its status and code, leaving no row and no file', async () => {
    const prev = g('layer0.expert2');
    const good = await paramBlock({ meta: f.meta, name: 'layer0.expert2', prev, seed: 5 });
    const json = (b: Block) => post(f.app, encodeBlock(b));
    await refused(() => json({ ...good, payload: bytes(good.payload.length, 6) }), 422, 'payload_hash_mismatch');
    await refused(() => json({ ...good, header: { ...good.header, created_at: good.header.created_at + 1 } }), 403, 'wrong_author');
    await refused(() => json({ ...good, header: { ...good.header, sig: `0x${'11'.repeat(65)}` } }), 401, 'bad_signature');
    const forged = await buildBlock({ ...good.header, meta: { encoding: 'tensors-v1' }, type: 'expert', payload: good.payload }, miner, genesisAccount.address);
    await refused(() => json(forged), 403, 'wrong_author');
    const orphan = await paramBlock({ meta: '7'.repeat(64) as Hash, name: 'layer0.expert2', seed: 5 });
    await refused(() => json(orphan), 422, 'unknown_dependency');
    const undeclared = await paramBlock({ meta: f.meta, name: 'layer9.expert9', seed: 5 });
    await refused(() => json(undeclared), 422, 'undeclared_slot');
    await refused(async () => json(await paramBlock({ meta: f.meta, name: 'layer0.expert2', prev: null, seed: 5 })), 409, 'stale_prev');
    await refused(async () => json(await paramBlock({ meta: f.meta, name: 'layer0.expert2', prev, size: 64 * 1024 + 1 })), 413, 'payload_too_large');
    const stranger = await buildBlock(
      { type: 'meta', index: 1, name: 'model', depends_on: [f.meta], prev: f.meta, payload: bytes(10, 1), meta: { arch: 'x', slots: [], ...TRUST } },
      miner,
    );
    await refused(() => json(stranger), 403, 'not_authorized');
    expect((await json(good)).status).toBe(201);
    await refused(async () => json(await paramBlock({ meta: f.meta, name: 'layer0.expert2', prev, seed: 8 })), 409, 'stale_prev');
  });

  it('refuses malformed bodies with 400', async () => {
    const good = await paramBlock({ meta: f.meta, name: 'layer0.expert3', prev: g('layer0.expert3'), seed: 5 });
    const body = encodeBlock(good);
    const headerEnd = 4 + new DataView(body.buffer).getUint32(0, true);
    await refused(() => post(f.app, wire('{"v":1,', good.payload)), 400, 'malformed_block');
    await refused(() => post(f.app, wire('[1,2]', good.payload)), 400, 'malformed_block');
    await refused(() => post(f.app, new Uint8Array(0)), 400, 'malformed_block');
    await refused(() => post(f.app, new Uint8Array([1, 0])), 400, 'malformed_block');
    await refused(() => post(f.app, body.subarray(0, headerEnd - 10)), 400, 'malformed_block');
    await refused(() => post(f.app, wire({ ...good.header, chain: 'A' }, good.payload)), 400, 'malformed_block');
    await refused(() => post(f.app, wire({ ...good.header, extra: 1 }, good.payload)), 400, 'malformed_block');
    await refused(() => post(f.app, wire({ ...good.header, depends_on: 'x' }, good.payload)), 400, 'malformed_block');
    await refused(() => post(f.app, body.subarray(0, body.length - 100)), 422, 'payload_size_mismatch');
    await refused(() => post(f.app, body, { 'content-length': String(body.length + 50) }), 400, 'truncated_body');
    await refused(() => post(f.app, body, { 'content-length': 'lots' }), 400, 'bad_content_length');
  });

  it('refuses an oversized body from its Content-Length or while streaming, without buffering it', async () => {
    const limit = 4 + 256 * 1024 + 64 * 1024;
    await refused(() => post(f.app, new Uint8Array(16), { 'content-length': String(limit + 1) }), 413, 'body_too_large');
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 65536;
        c.enqueue(new Uint8Array(65536));
        if (pulled > 64 * 1024 * 1024) c.close();
      },
    });
    await refused(() => post(f.app, endless), 413, 'body_too_large');
    expect(pulled).toBeLessThan(limit + 3 * 65536);
  });
});

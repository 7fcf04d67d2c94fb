import { blockHash } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../src/index.ts';
import { type TestRelay, testRelay } from './relay.ts';

let r: TestRelay;
beforeAll(async () => {
  r = await testRelay();
});
afterAll(() => r.close());

describe('RelayClient', () => {
  it('reads heads, the ParamIndex and slot histories', async () => {
    const c = r.client();
    const heads = await c.heads();
    expect(heads.meta_head).toBe(r.f.meta);
    expect(heads.chains.B.heads).toEqual({ ...r.f.slots, 'layer1.expert2': r.bigHash });
    const params = await c.params();
    expect(params).toEqual({ meta: r.f.meta, version: r.f.meta, slots: heads.chains.B.heads });
    expect(await c.params(r.f.meta)).toEqual(params);
    const history = await c.history('layer1.expert2');
    expect(history.map((h) => h.hash)).toEqual([r.f.slots['layer1.expert2'], r.bigHash]);
    expect((await c.health()).blocks).toBe(r.f.genesis.length + 1);
  });

  it('returns headers checked to hash to the block asked for', async () => {
    const c = r.client();
    const info = await c.block(r.bigHash);
    expect(info.header).toEqual(r.big.header);
    expect(info.slot).toBe('layer1.expert2');
    const page = await c.blocks({ chain: 'B', limit: 3 });
    expect(page.blocks).toHaveLength(3);
    for (const b of page.blocks) expect(blockHash(b.header)).toBe(b.hash);
  });

  it('lists every block in acceptance order across pages, and fetches no page a loop does not reach', async () => {
    const pages: string[] = [];
    const c = r.client((path, res) => {
      if (path === '/v1/blocks') pages.push(path);
      return res;
    });
    const all = [];
    for await (const b of c.allBlocks({ pageSize: 4 })) all.push(b);
    expect(all.map((b) => b.hash)).toEqual([...r.f.genesis.map((b) => blockHash(b.header)), r.bigHash]);
    expect(all.map((b) => b.seq)).toEqual(all.map((_, i) => i + 1));
    expect(pages).toHaveLength(Math.floor(all.length / 4) + 1);
    pages.length = 0;
    const first = [];
    for await (const b of c.allBlocks({ chain: 'B', pageSize: 4 })) {
      first.push(b);
      if (first.length === 2) break;
    }
    expect(first.map((b) => b.header.chain)).toEqual(['B', 'B']);
    expect(pages).toHaveLength(1);
  });

  it('rejects a relay that answers one block with another block’s header', async () => {
    const other = r.f.genesis[1]!.header;
    const c = r.client((path, res) => (path.endsWith(r.bigHash) ? Response.json({ hash: r.bigHash, header: other }) : res));
    await expect(c.block(r.bigHash)).rejects.toThrow(`the relay answered block ${r.bigHash} with a header that hashes to ${blockHash(other)}`);
  });

  it('turns error answers into RelayError with the relay’s code', async () => {
    const missing = 'ab'.repeat(32);
    const e = await r.client().block(missing as never).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RelayError);
    expect(e).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('reports an unreachable relay as RelayError code unreachable', async () => {
    const { RelayClient } = await import('../src/index.ts');
    const c = new RelayClient('http://127.0.0.1:9', () => Promise.reject(new TypeError('fetch failed')));
    await expect(c.heads()).rejects.toMatchObject({ code: 'unreachable', message: 'relay http://127.0.0.1:9 is unreachable: fetch failed' });
  });

  it('fetches tiles with their audit paths', async () => {
    const t = await r.client().tile(r.bigHash, 5);
    expect(t.bytes).toEqual(r.big.payload.subarray(5 * 4096));
    expect(t.proof.length).toBeGreaterThan(0);
  });
});

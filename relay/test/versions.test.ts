import { type Block, type Hash, type MetaBlockMeta, blockHash, buildBlock } from '@blyan/block';
import { MemoryChain } from '@blyan/chain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayRules } from '../src/config.ts';
import { type Fixture, fixture, genesisAccount, paramBlock, submit, TRUST } from './helpers.ts';

/**
 * m0 (genesis) ← e0a, e0b on layer0.expert0 ← m1 (same arch) ← e0c, r1 ← m2 (new arch: fork)
 * ← fresh layer0.expert0 in the new version, then one more version in the old one.
 */
let f: Fixture;
const h = (b: Block) => blockHash(b.header);
let m1: Block;
let m2: Block;
let e0: Block[];
let r1: Block;
let fresh: Block;
let late: Block;

async function metaBlock(prev: Block, arch: string, slots: MetaBlockMeta['slots']): Promise<Block> {
  return buildBlock(
    { type: 'meta', index: prev.header.index + 1, name: 'model', depends_on: [h(prev)], prev: h(prev), payload: f.genesis[0]!.payload, meta: { arch, slots, ...TRUST } },
    genesisAccount,
  );
}

async function accept(b: Block): Promise<void> {
  const r = await submit(f.app, b);
  expect(r.status, JSON.stringify(await r.clone().json())).toBe(201);
}

const json = async (path: string) => (await f.app.request(path)).json();

beforeAll(async () => {
  f = await fixture();
  const m0 = f.genesis[0]!;
  const g = (name: string) => f.genesis.find((b) => b.header.name === name)!;
  if (m0.header.type !== 'meta') throw new Error('genesis starts with a meta block');
  e0 = [g('layer0.expert0')];
  for (const seed of [1, 2]) {
    e0.push(await paramBlock({ meta: f.meta, name: 'layer0.expert0', prev: e0.at(-1)!, seed }));
    await accept(e0.at(-1)!);
  }
  m1 = await metaBlock(m0, m0.header.meta.arch, m0.header.meta.slots);
  await accept(m1);
  e0.push(await paramBlock({ meta: h(m1), name: 'layer0.expert0', prev: e0.at(-1)!, seed: 3 }));
  await accept(e0.at(-1)!);
  r1 = await paramBlock({ meta: h(m1), name: 'layer1.router', type: 'router', prev: g('layer1.router'), seed: 4 });
  await accept(r1);
  m2 = await metaBlock(m1, 'arch-two', [{ name: 'layer0.expert0', type: 'expert' }, { name: 'embed', type: 'dense' }]);
  await accept(m2);
  fresh = await paramBlock({ meta: h(m2), name: 'layer0.expert0', seed: 5 });
  await accept(fresh);
  late = await paramBlock({ meta: h(m1), name: 'layer0.expert0', prev: e0.at(-1)!, seed: 6 });
  await accept(late);
});
afterAll(() => f.close());

describe('versions, history and forks', () => {
  it('keeps the full history of a slot in its model version', async () => {
    const j = await json(`/v1/params/layer0.expert0/history?version=${f.meta}`);
    expect(j.history.map((x: { hash: Hash }) => x.hash)).toEqual([...e0.map(h), h(late)]);
    expect(j.history.map((x: { index: number }) => x.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('answers what each slot was at an older meta block (blocks accepted after the next meta block do not count)', async () => {
    const at0 = await json(`/v1/params?meta=${f.meta}`);
    expect(at0.version).toBe(f.meta);
    expect(at0.slots['layer0.expert0']).toBe(h(e0[2]!));
    expect(at0.slots['layer1.router']).toBe(f.slots['layer1.router']);
    const at1 = await json(`/v1/params?meta=${h(m1)}`);
    expect(at1.version).toBe(f.meta);
    expect(at1.slots['layer0.expert0']).toBe(h(e0[3]!));
    expect(at1.slots['layer1.router']).toBe(h(r1));
    expect(await f.relay.index.at(f.meta, 'layer0.expert0')).toBe(h(e0[2]!));
    expect(await f.relay.index.at(h(m1), 'layer0.expert0')).toBe(h(e0[3]!));
    expect(await f.relay.index.at(h(m2), 'layer0.expert0')).toBe(h(fresh));
    expect(await f.relay.index.at(h(m2), 'layer1.router')).toBeNull();
    await expect(f.relay.index.at(h(fresh), 'layer0.expert0')).rejects.toThrow(/not a meta block/);
  });

  it('a meta block with a new arch starts a new version; the old ParamIndex stays readable', async () => {
    const now = await json('/v1/params');
    expect(now).toEqual({ meta: h(m2), version: h(m2), slots: { 'layer0.expert0': h(fresh) } });
    const heads = await json('/v1/heads');
    expect(heads.version).toBe(h(m2));
    expect(heads.chains.A).toEqual({ count: 3, head: h(m2) });
    const old = await f.relay.index.paramIndex(f.meta);
    expect(old['layer0.expert0']).toBe(h(late));
    expect(Object.keys(old)).toHaveLength(f.genesis.length - 1);
    const newHistory = await json('/v1/params/layer0.expert0/history');
    expect(newHistory.version).toBe(h(m2));
    expect(newHistory.history.map((x: { hash: Hash }) => x.hash)).toEqual([h(fresh)]);
  });

  it('matches the in-memory reference chain on every head, history and at() lookup', async () => {
    const ref = new MemoryChain();
    const rules = relayRules();
    for (const b of await f.relay.index.list(0, 1000)) {
      const payload = await f.relay.objects.read(b.header.payload_hash);
      const r = await ref.submit({ header: b.header, payload }, rules);
      expect(r.ok).toBe(true);
    }
    const metas = (await f.relay.index.list(0, 1000, 'A')).map((b) => b.hash);
    const slots = f.genesis.slice(1).map((b) => b.header.name);
    for (const v of [f.meta, h(m2)]) {
      expect(await f.relay.index.paramIndex(v)).toEqual(ref.paramIndex(v));
      for (const s of slots) expect((await f.relay.index.history(v, s)).map((x) => x.hash)).toEqual(ref.history(v, s).map((x) => x.hash));
    }
    for (const m of metas) {
      const expected: Record<string, Hash> = {};
      for (const s of slots) {
        const got = ref.at(m, s);
        expect(await f.relay.index.at(m, s)).toBe(got);
        if (got !== null) expected[s] = got;
      }
      expect(await f.relay.index.paramIndexAt(m)).toEqual(expected);
    }
  });
});

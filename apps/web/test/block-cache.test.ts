import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BlockCache } from '../src/worker/block-cache.ts';
import { chooseEvictions } from '../src/worker/eviction.ts';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const entry = (hash: string, bytes: number, lastUsed: number) => ({ hash, slot: `slot-${hash}`, bytes, lastUsed });

describe('chooseEvictions', () => {
  const entries = [entry('a', 40, 1), entry('b', 40, 2), entry('c', 40, 3)];

  it('evicts nothing while the new block fits', () => {
    expect(chooseEvictions(entries, new Set(), new Set(), 30, 150)).toEqual([]);
  });

  it('drops blocks that are no longer heads first, least recently used first, then heads', () => {
    const heads = new Set(['a']);
    expect(chooseEvictions(entries, heads, new Set(), 40, 120)!.map((e) => e.hash)).toEqual(['b']);
    expect(chooseEvictions(entries, heads, new Set(), 100, 120)!.map((e) => e.hash)).toEqual(['b', 'c', 'a']);
  });

  it('keeps pinned blocks and says when nothing can make room', () => {
    expect(chooseEvictions(entries, new Set(), new Set(['a']), 60, 100)!.map((e) => e.hash)).toEqual(['b', 'c']);
    expect(chooseEvictions(entries, new Set(), new Set(['a']), 70, 100)).toBeNull();
  });
});

describe('BlockCache', () => {
  let cache: BlockCache | undefined;
  afterEach(async () => {
    await cache?.clear();
    await cache?.close();
  });

  it('keeps payloads across reopenings, keyed by hash', async () => {
    cache = await BlockCache.open(1000);
    await cache.put('h1', 'layer0.expert1', bytes(10, 7), new Set(), new Set());
    await cache.close();
    cache = await BlockCache.open(1000);
    expect(cache.has('h1')).toBe(true);
    expect(await cache.get('h1')).toEqual(bytes(10, 7));
    expect(await cache.get('nope')).toBeNull();
    expect(cache.bytes).toBe(10);
  });

  it('evicts least recently used non-heads when the budget is reached, and reads count as use', async () => {
    cache = await BlockCache.open(30);
    let t = 1000;
    const now = Date.now;
    Date.now = () => ++t;
    try {
      await cache.put('old', 's1', bytes(10, 1), new Set(), new Set());
      await cache.put('head', 's2', bytes(10, 2), new Set(), new Set());
      await cache.put('mid', 's3', bytes(10, 3), new Set(), new Set());
      await cache.get('old');
      expect(await cache.put('new', 's4', bytes(10, 4), new Set(['head']), new Set())).toEqual(['mid']);
      expect([cache.has('old'), cache.has('head'), cache.has('mid'), cache.has('new')]).toEqual([true, true, false, true]);
      expect(await cache.put('huge', 's5', bytes(40, 5), new Set(), new Set())).toBeNull();
      expect(cache.has('huge')).toBe(false);
      expect(cache.bytes).toBe(30);
    } finally {
      Date.now = now;
    }
  });

  it('writes a prompt’s changes in one transaction: payloads, evictions and last uses, served from memory until then', async () => {
    cache = await BlockCache.open(30);
    await cache.put('a', 's1', bytes(10, 1), new Set(), new Set());
    await cache.flush();
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    await cache.get('a');
    await cache.put('b', 's2', bytes(10, 2), new Set(), new Set());
    await cache.put('c', 's3', bytes(10, 3), new Set(), new Set());
    expect(await cache.get('b')).toEqual(bytes(10, 2));
    expect(await cache.put('d', 's4', bytes(10, 4), new Set(), new Set(['a']))).toEqual(['b']);
    const writes = () => transaction.mock.calls.filter(([, mode]) => mode === 'readwrite').length;
    expect(writes()).toBe(0);
    await cache.flush();
    expect(writes()).toBe(1);
    transaction.mockRestore();
    await cache.close();
    cache = await BlockCache.open(30);
    expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.has('d')]).toEqual([true, false, true, true]);
    expect(await cache.get('d')).toEqual(bytes(10, 4));
    expect(await cache.get('b')).toBeNull();
  });

  it('stores small state documents', async () => {
    cache = await BlockCache.open(10);
    await cache.setState('params', { meta: 'm', slots: { a: 'b' } });
    expect(await cache.getState('params')).toEqual({ meta: 'm', slots: { a: 'b' } });
  });
});

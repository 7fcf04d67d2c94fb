import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Hash, blockHash, payloadHash } from '@blyan/block';
import { validateBlock } from '@blyan/chain';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { relayRules } from '../src/config.ts';
import { openRelay } from '../src/relay.ts';
import { CachedObjectStore, CorruptObjectError } from '../src/store/cached-object-store.ts';
import { FileObjectStore } from '../src/store/file-object-store.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import { openStores } from '../src/store/open.ts';
import { StaleHeadError } from '../src/store/index-store.ts';
import { currentBackend } from './backends.ts';
import { type Fixture, bytes, fixture, paramBlock, tempDir } from './helpers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(root)) for (const f of await readdir(join(root, d))) out.push(`${d}/${f}`);
  return out.sort();
}

async function withFixture(): Promise<Fixture> {
  const f = await fixture();
  cleanup.push(() => f.close());
  return f;
}

const embedded = currentBackend() === 'embedded';

describe.runIf(embedded)('FileObjectStore', () => {
  it('stores content-addressed files and reads whole objects and ranges', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const store = await FileObjectStore.open(dir);
    const data = bytes(300_000, 1);
    const hash = payloadHash(data);
    expect(await store.has(hash)).toBe(false);
    expect(await store.size(hash)).toBeUndefined();
    await store.put(hash, data);
    await store.put(hash, data);
    expect(await files(dir)).toEqual([`${hash.slice(0, 2)}/${hash.slice(2)}`]);
    expect(await store.has(hash)).toBe(true);
    expect(await store.size(hash)).toBe(300_000);
    expect(Buffer.from(await store.read(hash)).equals(data)).toBe(true);
    expect(Buffer.from(await store.read(hash, 1000, 1010)).equals(data.subarray(1000, 1010))).toBe(true);
    const streamed = new Uint8Array(await new Response(await store.stream(hash, 5, 299_999)).arrayBuffer());
    expect(Buffer.from(streamed).equals(data.subarray(5, 299_999))).toBe(true);
    expect((await new Response(await store.stream(hash, 7, 7)).arrayBuffer()).byteLength).toBe(0);
    const empty = payloadHash(new Uint8Array(0));
    await store.put(empty, new Uint8Array(0));
    expect(await store.size(empty)).toBe(0);
    expect((await store.read(empty)).length).toBe(0);
  });

  it('removes unreferenced objects and half-written temp files, keeping referenced ones', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const store = await FileObjectStore.open(dir);
    const keep = bytes(100, 1);
    const drop = bytes(100, 2);
    await store.put(payloadHash(keep), keep);
    await store.put(payloadHash(drop), drop);
    await writeFile(join(dir, 'tmp', 'half-written'), 'x');
    const removed = await store.removeOrphans(async (h) => h === payloadHash(keep));
    expect(removed).toEqual([payloadHash(drop)]);
    expect(await store.has(payloadHash(keep))).toBe(true);
    expect(await store.has(payloadHash(drop))).toBe(false);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });
});

describe.runIf(embedded)('CachedObjectStore', () => {
  it('serves small payloads from memory once read, bounded in total, and forgets removed orphans', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const files = await FileObjectStore.open(dir);
    const store = new CachedObjectStore(files, 1000, 2500);
    const [a, b, c, big] = [bytes(1000, 1), bytes(1000, 2), bytes(1000, 3), bytes(1001, 4)];
    for (const x of [a, b, c, big]) await store.put(payloadHash(x), x);
    expect(Buffer.from(await store.read(payloadHash(a), 10, 20)).equals(a.subarray(10, 20))).toBe(true);
    (await store.read(payloadHash(a))).fill(0);
    await rm(join(dir, payloadHash(a).slice(0, 2), payloadHash(a).slice(2)));
    expect(Buffer.from(await store.read(payloadHash(a))).equals(a)).toBe(true);
    expect(Buffer.from(await new Response(await store.stream(payloadHash(a), 5, 995)).arrayBuffer()).equals(a.subarray(5, 995))).toBe(true);
    await store.read(payloadHash(b));
    await store.read(payloadHash(c));
    await expect(store.read(payloadHash(a))).rejects.toThrow(/ENOENT/);
    expect(Buffer.from(await store.read(payloadHash(big), 1, 1001)).equals(big.subarray(1))).toBe(true);
    expect(await store.removeOrphans(async (h) => h !== payloadHash(b))).toEqual([payloadHash(b)]);
    await expect(store.read(payloadHash(b))).rejects.toThrow(/ENOENT/);
  });

  it('looks up the size of an object too large to keep once, not on every read', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const files = await FileObjectStore.open(dir);
    let sizeLookups = 0;
    const counted: ObjectStore = Object.assign(Object.create(files), { size: (h: Hash) => (sizeLookups++, files.size(h)) });
    const store = new CachedObjectStore(counted, 1000, 2500);
    const big = bytes(5000, 9);
    await files.put(payloadHash(big), big);
    for (let i = 0; i < 5; i++) expect(Buffer.from(await new Response(await store.stream(payloadHash(big), i, 4000)).arrayBuffer()).equals(big.subarray(i, 4000))).toBe(true);
    expect(await store.payload(payloadHash(big))).toBeUndefined();
    expect(await store.size(payloadHash(big))).toBe(5000);
    expect(sizeLookups).toBe(1);
  });

  it('keeps only bytes that match their hash: a corrupted object is passed through to read, refused by payload', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const files = await FileObjectStore.open(dir);
    const store = new CachedObjectStore(files, 1000, 2500);
    const good = bytes(500, 5);
    const h = payloadHash(good);
    await files.put(h, good);
    const wrong = Uint8Array.from(good);
    wrong[0]! ^= 1;
    await writeFile(join(dir, h.slice(0, 2), h.slice(2)), wrong);
    await expect(store.payload(h)).rejects.toThrow(CorruptObjectError);
    expect(store.peek(h)).toBeUndefined();
    expect(Buffer.from(await store.read(h)).equals(wrong)).toBe(true);
    await writeFile(join(dir, h.slice(0, 2), h.slice(2)), good);
    expect(Buffer.from((await store.payload(h))!).equals(good)).toBe(true);
    expect(store.peek(h)).toBeDefined();
  });
});

describe(`the relay store (${currentBackend()})`, () => {
  it('refuses to append a block whose head moved, changing nothing', async () => {
    const f = await withFixture();
    const prev = f.genesis.find((b) => b.header.name === 'layer0.expert0')!;
    const a = await paramBlock({ meta: f.meta, name: 'layer0.expert0', prev, seed: 1 });
    const b = await paramBlock({ meta: f.meta, name: 'layer0.expert0', prev, seed: 2 });
    const view = await f.relay.index.view(a.header);
    const va = await validateBlock(view, a, relayRules());
    const vb = await validateBlock(view, b, relayRules());
    if (!va.ok || !vb.ok) throw new Error('both validate against the same head');
    await f.relay.index.append(va, new Uint8Array(32));
    const before = await f.relay.index.counts();
    await expect(f.relay.index.append(vb, new Uint8Array(32))).rejects.toThrow(StaleHeadError);
    expect(await f.relay.index.counts()).toEqual(before);
    expect(await f.relay.index.block(blockHash(b.header))).toBeUndefined();
    expect((await f.relay.index.paramIndex(f.meta))['layer0.expert0']).toBe(blockHash(a.header));
  });

  it('persists across close and reopen', async () => {
    const f = await fixture();
    const index = await f.relay.index.paramIndex(f.meta);
    const counts = await f.relay.index.counts();
    await f.relay.close();
    const again = await openRelay(f.dir, relayRules(), undefined, null, f.backend.backends);
    cleanup.push(async () => {
      f.relay = again;
      await f.close();
    });
    expect(again.removedOrphans).toEqual([]);
    expect(await again.index.counts()).toEqual(counts);
    expect(await again.index.metaHead()).toBe(f.meta);
    expect(await again.index.paramIndex(f.meta)).toEqual(index);
  });

  it.runIf(embedded)('removes payload files without a row at open (a crash between file and commit)', async () => {
    const f = await fixture();
    const orphan = bytes(5000, 42);
    await f.relay.objects.put(payloadHash(orphan), orphan);
    await writeFile(join(f.dir, 'objects', 'tmp', 'interrupted'), 'partial');
    await f.relay.close();
    const again = await openRelay(f.dir, relayRules());
    cleanup.push(async () => {
      await again.close();
      await rm(f.dir, { recursive: true, force: true });
    });
    expect(again.removedOrphans).toEqual([payloadHash(orphan)]);
    expect(await again.objects.has(payloadHash(orphan))).toBe(false);
    for (const b of f.genesis) expect(await again.objects.has(b.header.payload_hash)).toBe(true);
  });

  it('lets one relay at a time open a store for writing, and frees the lock on close', async () => {
    const f = await withFixture();
    await expect(openRelay(f.dir, relayRules(), undefined, null, f.backend.backends)).rejects.toThrow(/in use by another process/);
    await f.relay.close();
    const again = await openRelay(f.dir, relayRules(), undefined, null, f.backend.backends);
    await again.close();
    f.relay = await openRelay(f.dir, relayRules(), undefined, null, f.backend.backends);
  });

  it.runIf(embedded)('upgrades a schema-1 index (no verdicts table) on a read-write open; a read-only open of it is refused', async () => {
    const f = await fixture();
    await f.relay.close();
    cleanup.push(() => rm(f.dir, { recursive: true, force: true }));
    const db = new Database(join(f.dir, 'index.sqlite'));
    db.exec('DROP TABLE verdicts');
    db.pragma('user_version = 1');
    db.close();
    await expect(openStores(f.dir, 'readonly')).rejects.toThrow(/has index schema 1; this relay reads schema 2/);
    const again = await openRelay(f.dir, relayRules());
    try {
      expect((await again.index.block(f.meta))?.verdict).toBeNull();
      expect(await again.index.verdict(f.slots['layer0.expert0']!)).toBeUndefined();
    } finally {
      await again.close();
    }
    const upgraded = new Database(join(f.dir, 'index.sqlite'), { readonly: true });
    expect(upgraded.pragma('user_version', { simple: true })).toBe(2);
    upgraded.close();
  });

  it.runIf(embedded)('read-only opens need an existing store', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await expect(openStores(join(dir, 'nothing'), 'readonly')).rejects.toThrow(/no relay store/);
  });

  it('lists in acceptance order and filters by chain', async () => {
    const f = await withFixture();
    const all = await f.relay.index.list(0, 1000);
    expect(all.map((b) => b.hash)).toEqual(f.genesis.map((b) => blockHash(b.header)));
    expect((await f.relay.index.list(0, 1000, 'A')).map((b) => b.hash)).toEqual([f.meta]);
    expect(await f.relay.index.list(0, 1000, 'D')).toEqual([]);
    expect((await f.relay.index.list(5, 2)).map((b) => b.seq)).toEqual([6, 7]);
    expect(await f.relay.index.counts()).toEqual({ A: 1, B: f.genesis.length - 1, D: 0 });
    const leaves = await f.relay.index.leaves(f.slots.embed as Hash);
    expect(leaves?.length).toBe(32);
  });
});

import 'fake-indexeddb/auto';
import type { Hash } from '@blyan/block';
import { BlockVerificationError, Lineage, ProvenHeaders, RelayClient, TrustError } from '@blyan/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, fixture } from '../../../relay/test/helpers.ts';
import type { BlockEvent } from '../src/protocol.ts';
import { BlockCache } from '../src/worker/block-cache.ts';
import { BlockLoader } from '../src/worker/block-loader.ts';
import { currentHeads } from '../src/worker/model-state.ts';

let f: Fixture;
let cache: BlockCache;
const requests: string[] = [];
beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.close());
afterEach(async () => {
  await cache.clear();
  await cache.close();
  requests.length = 0;
});

/** A client of the in-process relay; `tamper` may rewrite payload bodies. */
function client(tamper = false): RelayClient {
  return new RelayClient('http://relay.test', async (url, init) => {
    const path = new URL(url).pathname;
    requests.push(path);
    const res = await f.app.request(url, init);
    if (!tamper || !/\/(payload|tiles\/\d+)$/.test(path)) return res;
    const bytes = new Uint8Array(await res.arrayBuffer());
    bytes[0]! ^= 1;
    return new Response(bytes, { status: res.status, headers: res.headers });
  });
}

const slot = 'layer0.expert1';
const hashOf = (s: string) => f.slots[s] as Hash;

describe('BlockLoader', () => {
  it('fetches a block verified, caches it, and serves it from the cache next time', async () => {
    cache = await BlockCache.open(1 << 20);
    const events: BlockEvent[] = [];
    const loader = new BlockLoader(client(), cache, (e) => events.push(e), () => new Set());
    const first = await loader.load(hashOf(slot), slot, new Set());
    expect(first.source).toBe('network');
    expect(first.payload).toEqual(f.genesis.find((b) => b.header.name === slot)!.payload);
    expect(events.at(-1)).toMatchObject({ slot, source: 'network', state: 'verified', verifiedTiles: 1, tiles: 1 });
    expect(loader.downloaded).toBe(first.payload.byteLength);
    requests.length = 0;
    const again = await loader.load(hashOf(slot), slot, new Set());
    expect(again.source).toBe('cache');
    expect(again.payload).toEqual(first.payload);
    expect(requests).toEqual([]);
  });

  it('never caches a block that fails verification, and says which', async () => {
    cache = await BlockCache.open(1 << 20);
    const events: BlockEvent[] = [];
    const loader = new BlockLoader(client(true), cache, (e) => events.push(e), () => new Set());
    const e = await loader.load(hashOf(slot), slot, new Set()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BlockVerificationError);
    expect((e as BlockVerificationError).block).toBe(slot);
    expect(events.at(-1)).toMatchObject({ slot, state: 'failed' });
    expect(cache.has(hashOf(slot))).toBe(false);
    expect(loader.downloaded).toBe(0);
  });

  it('refuses a block the ParamIndex lists under another slot', async () => {
    cache = await BlockCache.open(1 << 20);
    const loader = new BlockLoader(client(), cache, () => {}, () => new Set());
    await expect(loader.load(hashOf(slot), 'layer1.expert1', new Set())).rejects.toThrow(`block ${hashOf(slot)} is slot ${slot}, the ParamIndex lists it for layer1.expert1`);
    expect(cache.size).toBe(0);
  });
});

describe('BlockLoader with proven headers', () => {
  const headerOf = (s: string) => f.genesis.find((b) => b.header.name === s)!.header;

  it('skips the header round trip of a head whose header it holds: the payload only (its tiles rebuild the root)', async () => {
    cache = await BlockCache.open(1 << 20);
    const proven = new ProvenHeaders();
    proven.add([headerOf(slot)]);
    const loader = new BlockLoader(client(), cache, () => {}, () => new Set(), proven);
    const block = await loader.load(hashOf(slot), slot, new Set());
    expect(block.payload).toEqual(f.genesis.find((b) => b.header.name === slot)!.payload);
    expect(requests).toEqual([`/v1/blocks/${hashOf(slot)}/payload`]);
  });

  it('never takes a header that is not the block’s: a doctored one is filed under its own hash, and the relay’s header is fetched', async () => {
    cache = await BlockCache.open(1 << 20);
    const proven = new ProvenHeaders();
    const real = headerOf(slot);
    proven.add([{ ...real, merkle_root: 'cd'.repeat(32) }, { ...real, payload_size: 'many' }]);
    expect(proven.get(hashOf(slot))).toBeUndefined();
    const loader = new BlockLoader(client(), cache, () => {}, () => new Set(), proven);
    await loader.load(hashOf(slot), slot, new Set());
    expect(requests).toContain(`/v1/blocks/${hashOf(slot)}`);
  });

  it('still verifies every tile against the proven header: a tampered payload is refused and not cached', async () => {
    cache = await BlockCache.open(1 << 20);
    const proven = new ProvenHeaders();
    proven.add([headerOf(slot)]);
    const loader = new BlockLoader(client(true), cache, () => {}, () => new Set(), proven);
    await expect(loader.load(hashOf(slot), slot, new Set())).rejects.toBeInstanceOf(BlockVerificationError);
    expect(cache.has(hashOf(slot))).toBe(false);
  });

  it('refuses a proven block asked for under another slot', async () => {
    cache = await BlockCache.open(1 << 20);
    const proven = new ProvenHeaders();
    proven.add([headerOf(slot)]);
    const loader = new BlockLoader(client(), cache, () => {}, () => new Set(), proven);
    await expect(loader.load(hashOf(slot), 'layer1.expert1', new Set())).rejects.toThrow(`block ${hashOf(slot)} is slot ${slot}, the ParamIndex lists it for layer1.expert1`);
  });
});

describe('currentHeads', () => {
  const unreachable = new RelayClient('http://127.0.0.1:9', () => Promise.reject(new TypeError('fetch failed')));
  const lineage = () => new Lineage(f.meta);
  const otherGenesis = 'ab'.repeat(32) as Hash;

  it('reads the relay’s ParamIndex and model size, verified back to the pinned genesis, and falls back to the saved copy offline', async () => {
    cache = await BlockCache.open(1 << 20);
    const online = await currentHeads(client(), cache, lineage(), null, new ProvenHeaders());
    expect(online.online).toBe(true);
    expect(online.snapshot.params.slots).toEqual(f.slots);
    expect(online.snapshot.modelBytes).toBe(f.genesis.reduce((s, b) => s + b.payload.length, 0));
    expect(online.snapshot.trust.blocks).toBe(f.genesis.length);
    const offline = await currentHeads(unreachable, cache, lineage(), null, new ProvenHeaders());
    expect(offline).toEqual({ snapshot: online.snapshot, online: false });
  });

  it('refuses a relay whose model starts at another genesis, and saves nothing of it', async () => {
    cache = await BlockCache.open(1 << 20);
    const e = await currentHeads(client(), cache, new Lineage(otherGenesis), null, new ProvenHeaders()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrustError);
    expect((e as TrustError).reason).toBe('foreign_genesis');
    expect(await cache.getState('heads')).toBeUndefined();
  });

  it('offline, never starts from heads saved under another genesis', async () => {
    cache = await BlockCache.open(1 << 20);
    await currentHeads(client(), cache, lineage(), null, new ProvenHeaders());
    await expect(currentHeads(unreachable, cache, new Lineage(otherGenesis), null, new ProvenHeaders())).rejects.toThrow(`nothing of genesis ${otherGenesis} is cached yet`);
  });

  it('says the model cannot start offline when nothing was saved', async () => {
    cache = await BlockCache.open(1 << 20);
    await expect(currentHeads(unreachable, cache, lineage(), null, new ProvenHeaders())).rejects.toThrow(`relay http://127.0.0.1:9 is unreachable: fetch failed; and nothing of genesis ${f.meta} is cached yet, so the model cannot start offline`);
  });
});

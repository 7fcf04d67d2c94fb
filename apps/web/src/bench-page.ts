import { DEFAULT_TILE_SIZE, equalBytes, merkleRootOfLeaves, tileLeaves } from '@blyan/block';
import { leafHashAsync } from '@blyan/client';
import { prefilter, splitDocuments } from '@blyan/data';
import { BlockCache } from './worker/block-cache.ts';

/**
 * Measurements only a browser can make, for apps/web/bench/browser.ts: the app's own code paths,
 * on this origin's IndexedDB.
 */
const bench = {
  /**
   * MB/s of checking a payload the way fetchVerifiedPayload does once the relay's leaf list is in:
   * the leaves against the root, then each 64 KiB tile against its leaf (WebCrypto SHA-256).
   */
  async verifyMBps(megabytes: number): Promise<number> {
    const payload = new Uint8Array(megabytes * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;
    const leaves = tileLeaves(payload, DEFAULT_TILE_SIZE);
    const t0 = performance.now();
    merkleRootOfLeaves(leaves);
    for (let i = 0; i < leaves.length; i++) {
      if (!equalBytes(await leafHashAsync(payload.subarray(i * DEFAULT_TILE_SIZE, (i + 1) * DEFAULT_TILE_SIZE)), leaves[i]!)) throw new Error('tile mismatch');
    }
    return megabytes / ((performance.now() - t0) / 1000);
  },

  /** The data hub's L0 prefilter on an upload, as the Data page runs it: documents, kept, and median milliseconds of `runs` runs. */
  prefilterMs(upload: string, runs: number): { docs: number; kept: number; ms: number } {
    const bytes = new TextEncoder().encode(upload);
    let verdicts = prefilter(splitDocuments(bytes));
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      verdicts = prefilter(splitDocuments(bytes));
      times.push(performance.now() - t0);
    }
    return { docs: verdicts.length, kept: verdicts.filter((v) => v.ok).length, ms: times.sort((a, b) => a - b)[Math.floor(runs / 2)]! };
  },

  /** Milliseconds of BlockCache.get (what the worker does on a cache hit) for each hash, `rounds` times. */
  async cacheLoads(hashes: string[], rounds: number): Promise<number[]> {
    const cache = await BlockCache.open(Number.MAX_SAFE_INTEGER);
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const h of hashes) {
        const t0 = performance.now();
        const bytes = await cache.get(h);
        times.push(performance.now() - t0);
        if (bytes === null) throw new Error(`block ${h} is not cached`);
      }
    }
    await cache.close();
    return times;
  },
};

(window as unknown as { blyanBench: typeof bench }).blyanBench = bench;

import type { Hash } from '@blyan/block';
import { Lru } from './lru.ts';
import type { ObjectStore } from './object-store.ts';

/** Defaults: payloads up to 16 MiB each are kept, 256 MiB in all. */
export const CACHE_OBJECT_MAX = 16 * 1024 * 1024;
export const CACHE_TOTAL = 256 * 1024 * 1024;

/**
 * An ObjectStore in front of another that keeps whole small payloads in memory (a bounded LRU):
 * payloads are immutable and content-addressed, so a kept copy is never stale, and the relay's
 * hottest path (serving an expert again and again) reads neither disk nor bucket. Larger objects
 * and everything else pass through. `read` hands out a copy, as the stores it fronts do: callers
 * (the evaluator decoding tensors, say) may write to what they get without touching the cache.
 */
export class CachedObjectStore implements ObjectStore {
  private readonly cache: Lru<Hash, Uint8Array<ArrayBuffer>>;

  constructor(
    private readonly inner: ObjectStore,
    private readonly objectMax = CACHE_OBJECT_MAX,
    total = CACHE_TOTAL,
  ) {
    this.cache = new Lru(total, (b) => b.byteLength);
  }

  /** The whole object from memory, reading it in once when small enough; undefined when too large. */
  private async whole(hash: Hash): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const hit = this.cache.get(hash);
    if (hit !== undefined) return hit;
    const size = await this.inner.size(hash);
    if (size === undefined || size > this.objectMax) return undefined;
    const bytes = await this.inner.read(hash);
    this.cache.set(hash, bytes);
    return bytes;
  }

  put(hash: Hash, bytes: Uint8Array): Promise<void> {
    return this.inner.put(hash, bytes);
  }

  async has(hash: Hash): Promise<boolean> {
    return this.cache.get(hash) !== undefined || this.inner.has(hash);
  }

  async size(hash: Hash): Promise<number | undefined> {
    return this.cache.get(hash)?.byteLength ?? this.inner.size(hash);
  }

  async read(hash: Hash, start = 0, end?: number): Promise<Uint8Array<ArrayBuffer>> {
    const bytes = await this.whole(hash);
    return bytes === undefined ? this.inner.read(hash, start, end) : bytes.slice(start, end ?? bytes.byteLength);
  }

  async stream(hash: Hash, start = 0, end?: number): Promise<ReadableStream<Uint8Array>> {
    const bytes = await this.whole(hash);
    return bytes === undefined ? this.inner.stream(hash, start, end) : new Blob([bytes.subarray(start, end ?? bytes.byteLength)]).stream();
  }

  async removeOrphans(isReferenced: (hash: Hash) => Promise<boolean>): Promise<Hash[]> {
    const removed = await this.inner.removeOrphans(isReferenced);
    for (const h of removed) this.cache.delete(h);
    return removed;
  }
}

import { type Hash, payloadHash } from '@blyan/block';
import { Lru } from './lru.ts';
import type { ObjectStore } from './object-store.ts';

/** Defaults: payloads up to 16 MiB each are kept, 256 MiB in all. */
export const CACHE_OBJECT_MAX = 16 * 1024 * 1024;
export const CACHE_TOTAL = 256 * 1024 * 1024;
/** How many sizes of objects too large to keep are remembered (so they are not looked up again). */
const LARGE_SIZES = 65_536;

/** The stored bytes of an object do not hash to its name: a corrupted disk or bucket. */
export class CorruptObjectError extends Error {
  constructor(readonly hash: Hash) {
    super(`stored object ${hash} does not match its hash`);
  }
}

/**
 * An ObjectStore in front of another that keeps whole small payloads in memory (a bounded LRU):
 * payloads are immutable and content-addressed, so a kept copy is never stale, and the relay's
 * hottest path (serving an expert again and again) reads neither disk nor bucket. A payload is
 * hashed once as it is read in and kept only when it matches its name. Larger objects (whose
 * sizes are remembered, so a request for one costs no size lookup) and everything else pass
 * through. `read` hands out a copy, as the stores it fronts do: callers (the evaluator decoding
 * tensors, say) may write to what they get without touching the cache; `payload` and `peek` hand
 * out the kept bytes themselves, for callers that only send them.
 */
export class CachedObjectStore implements ObjectStore {
  private readonly cache: Lru<Hash, Uint8Array<ArrayBuffer>>;
  private readonly largeSizes = new Lru<Hash, number>(LARGE_SIZES);

  constructor(
    private readonly inner: ObjectStore,
    private readonly objectMax = CACHE_OBJECT_MAX,
    total = CACHE_TOTAL,
  ) {
    this.cache = new Lru(total, (b) => b.byteLength);
  }

  /**
   * The whole object from memory, reading it in once when small enough: `corrupt` when the stored
   * bytes do not hash to `hash` (nothing is kept then), `pass` when too large or absent.
   */
  private async whole(hash: Hash): Promise<Uint8Array<ArrayBuffer> | 'pass' | 'corrupt'> {
    const hit = this.cache.get(hash);
    if (hit !== undefined) return hit;
    if (this.largeSizes.get(hash) !== undefined) return 'pass';
    const size = await this.inner.size(hash);
    if (size === undefined) return 'pass';
    if (size > this.objectMax) {
      this.largeSizes.set(hash, size);
      return 'pass';
    }
    const bytes = await this.inner.read(hash);
    if (payloadHash(bytes) !== hash) return 'corrupt';
    this.cache.set(hash, bytes);
    return bytes;
  }

  /** The kept bytes of `hash` if it is in memory now (read-only: shared with every caller). */
  peek(hash: Hash): Uint8Array<ArrayBuffer> | undefined {
    return this.cache.get(hash);
  }

  /**
   * The whole payload, verified, from memory (read-only: shared with every caller); undefined when
   * it is absent or too large to keep. Throws CorruptObjectError when the stored bytes are wrong.
   */
  async payload(hash: Hash): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const got = await this.whole(hash);
    if (got === 'corrupt') throw new CorruptObjectError(hash);
    return got === 'pass' ? undefined : got;
  }

  put(hash: Hash, bytes: Uint8Array): Promise<void> {
    return this.inner.put(hash, bytes);
  }

  async has(hash: Hash): Promise<boolean> {
    return this.cache.get(hash) !== undefined || this.inner.has(hash);
  }

  async size(hash: Hash): Promise<number | undefined> {
    return this.cache.get(hash)?.byteLength ?? this.largeSizes.get(hash) ?? this.inner.size(hash);
  }

  async read(hash: Hash, start = 0, end?: number): Promise<Uint8Array<ArrayBuffer>> {
    const bytes = await this.whole(hash);
    return typeof bytes === 'string' ? this.inner.read(hash, start, end) : bytes.slice(start, end ?? bytes.byteLength);
  }

  async stream(hash: Hash, start = 0, end?: number): Promise<ReadableStream<Uint8Array>> {
    const bytes = await this.whole(hash);
    return typeof bytes === 'string' ? this.inner.stream(hash, start, end) : new Blob([bytes.subarray(start, end ?? bytes.byteLength)]).stream();
  }

  async removeOrphans(isReferenced: (hash: Hash) => Promise<boolean>): Promise<Hash[]> {
    const removed = await this.inner.removeOrphans(isReferenced);
    for (const h of removed) {
      this.cache.delete(h);
      this.largeSizes.delete(h);
    }
    return removed;
  }
}

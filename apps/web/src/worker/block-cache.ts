import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type CacheEntry, chooseEvictions } from './eviction.ts';

interface Schema extends DBSchema {
  /** Metadata of every cached block: listing it never reads a payload. */
  entries: { key: string; value: CacheEntry };
  /** Verified payload bytes by block hash. */
  payloads: { key: string; value: ArrayBuffer };
  /** Small JSON documents, e.g. the last ParamIndex seen, for offline starts. */
  state: { key: string; value: unknown };
}

const DB_NAME = 'blyan-blocks';

/**
 * Verified blocks in IndexedDB keyed by block hash (so a block never goes stale: a new version is
 * a new hash). Keeps under a byte budget by evicting (see chooseEvictions) only when a new block
 * needs the space. Only verified bytes may be put here.
 *
 * Reads are read-only transactions (concurrent, no commit to wait for); what changes (new
 * payloads, evictions, last-used times) is applied in memory at once and written by flush() in
 * one transaction: the worker flushes once per prompt, not per block. A block put and not yet
 * flushed is served from memory; one lost with the worker before a flush is simply fetched again.
 */
export class BlockCache {
  /** Payloads put since the last flush. */
  private pending = new Map<string, ArrayBuffer>();
  /** Hashes evicted since the last flush (whose payloads are in IndexedDB). */
  private evicted = new Set<string>();
  /** Entries whose last use changed since the last flush. */
  private touched = new Set<string>();

  private constructor(
    private readonly db: IDBPDatabase<Schema>,
    private readonly entries: Map<string, CacheEntry>,
    public budget: number,
  ) {}

  static async open(budget: number): Promise<BlockCache> {
    const db = await openDB<Schema>(DB_NAME, 1, {
      upgrade(d) {
        d.createObjectStore('entries', { keyPath: 'hash' });
        d.createObjectStore('payloads');
        d.createObjectStore('state');
      },
    });
    const entries = new Map((await db.getAll('entries')).map((e) => [e.hash, e]));
    return new BlockCache(db, entries, budget);
  }

  get bytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  /** The payload of `hash`, or null; a hit counts as a use for LRU. */
  async get(hash: string): Promise<Uint8Array<ArrayBuffer> | null> {
    const entry = this.entries.get(hash);
    if (!entry) return null;
    // A pending payload is copied (the caller may transfer or change what it gets); IndexedDB hands out a fresh copy already.
    const payload = this.pending.get(hash)?.slice(0) ?? (await this.db.get('payloads', hash));
    if (payload === undefined) {
      this.drop(hash);
      return null;
    }
    this.entries.set(hash, { ...entry, lastUsed: Date.now() });
    this.touched.add(hash);
    return new Uint8Array(payload);
  }

  /**
   * Stores a verified payload, first evicting what chooseEvictions picks (heads are the blocks any
   * slot runs now; pinned ones the current answer holds). Returns the evicted hashes, or null when
   * the block cannot fit (it is then not stored). Written to IndexedDB by the next flush().
   */
  async put(hash: string, slot: string, payload: Uint8Array, heads: ReadonlySet<string>, pinned: ReadonlySet<string>): Promise<string[] | null> {
    if (this.entries.has(hash)) return [];
    const victims = chooseEvictions([...this.entries.values()], heads, pinned, payload.byteLength, this.budget);
    if (victims === null) return null;
    for (const v of victims) this.drop(v.hash);
    this.entries.set(hash, { hash, slot, bytes: payload.byteLength, lastUsed: Date.now() });
    this.pending.set(hash, payload.slice().buffer);
    this.touched.add(hash);
    return victims.map((v) => v.hash);
  }

  /** Forgets a block in memory; its stored copy goes with the next flush. */
  private drop(hash: string): void {
    this.entries.delete(hash);
    this.touched.delete(hash);
    if (!this.pending.delete(hash)) this.evicted.add(hash);
  }

  /** Writes every change since the last flush (payloads, evictions, last uses) in one transaction. */
  async flush(): Promise<void> {
    if (this.pending.size + this.evicted.size + this.touched.size === 0) return;
    const [pending, evicted, touched] = [this.pending, this.evicted, this.touched];
    [this.pending, this.evicted, this.touched] = [new Map(), new Set(), new Set()];
    const tx = this.db.transaction(['entries', 'payloads'], 'readwrite');
    const entries = tx.objectStore('entries');
    const payloads = tx.objectStore('payloads');
    const writes: Promise<unknown>[] = [];
    for (const hash of evicted) writes.push(entries.delete(hash), payloads.delete(hash));
    for (const [hash, payload] of pending) writes.push(payloads.put(payload, hash));
    for (const hash of touched) {
      const entry = this.entries.get(hash);
      if (entry) writes.push(entries.put(entry));
    }
    await Promise.all([...writes, tx.done]);
  }

  /** Forgets every block and the saved state (without blocks there is nothing to start offline from). */
  async clear(): Promise<void> {
    [this.pending, this.evicted, this.touched] = [new Map(), new Set(), new Set()];
    const tx = this.db.transaction(['entries', 'payloads', 'state'], 'readwrite');
    await Promise.all([tx.objectStore('entries').clear(), tx.objectStore('payloads').clear(), tx.objectStore('state').clear(), tx.done]);
    this.entries.clear();
  }

  async getState<T>(key: string): Promise<T | undefined> {
    return (await this.db.get('state', key)) as T | undefined;
  }

  async setState(key: string, value: unknown): Promise<void> {
    await this.db.put('state', value, key);
  }

  /** Flushes what is pending, then closes the database. */
  async close(): Promise<void> {
    await this.flush();
    this.db.close();
  }
}

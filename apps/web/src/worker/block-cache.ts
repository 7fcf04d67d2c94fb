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
 */
export class BlockCache {
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
    const tx = this.db.transaction(['entries', 'payloads'], 'readwrite');
    const payload = await tx.objectStore('payloads').get(hash);
    if (payload === undefined) {
      this.entries.delete(hash);
      await tx.objectStore('entries').delete(hash);
      await tx.done;
      return null;
    }
    const touched = { ...entry, lastUsed: Date.now() };
    this.entries.set(hash, touched);
    await tx.objectStore('entries').put(touched);
    await tx.done;
    return new Uint8Array(payload);
  }

  /**
   * Stores a verified payload, first evicting what chooseEvictions picks (heads are the blocks any
   * slot runs now; pinned ones the current answer holds). Returns the evicted hashes, or null when
   * the block cannot fit (it is then not stored).
   */
  async put(hash: string, slot: string, payload: Uint8Array, heads: ReadonlySet<string>, pinned: ReadonlySet<string>): Promise<string[] | null> {
    if (this.entries.has(hash)) return [];
    const victims = chooseEvictions([...this.entries.values()], heads, pinned, payload.byteLength, this.budget);
    if (victims === null) return null;
    const entry: CacheEntry = { hash, slot, bytes: payload.byteLength, lastUsed: Date.now() };
    const copy = payload.slice().buffer;
    const tx = this.db.transaction(['entries', 'payloads'], 'readwrite');
    for (const v of victims) {
      await tx.objectStore('entries').delete(v.hash);
      await tx.objectStore('payloads').delete(v.hash);
    }
    await tx.objectStore('payloads').put(copy, hash);
    await tx.objectStore('entries').put(entry);
    await tx.done;
    for (const v of victims) this.entries.delete(v.hash);
    this.entries.set(hash, entry);
    return victims.map((v) => v.hash);
  }

  /** Forgets every block and the saved state (without blocks there is nothing to start offline from). */
  async clear(): Promise<void> {
    const tx = this.db.transaction(['entries', 'payloads', 'state'], 'readwrite');
    await tx.objectStore('entries').clear();
    await tx.objectStore('payloads').clear();
    await tx.objectStore('state').clear();
    await tx.done;
    this.entries.clear();
  }

  async getState<T>(key: string): Promise<T | undefined> {
    return (await this.db.get('state', key)) as T | undefined;
  }

  async setState(key: string, value: unknown): Promise<void> {
    await this.db.put('state', value, key);
  }

  close(): void {
    this.db.close();
  }
}

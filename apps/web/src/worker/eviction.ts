/** What the cache knows of a stored block without reading its payload. */
export interface CacheEntry {
  hash: string;
  slot: string;
  bytes: number;
  /** Milliseconds since the epoch of the last read or write. */
  lastUsed: number;
}

/**
 * Which blocks to delete so that `incoming` more bytes fit in `budget`: nothing while they fit;
 * otherwise blocks that are no longer the head of any slot go first, least recently used first,
 * then head blocks by the same order. Pinned blocks (the ones the running answer needs) stay.
 * Returns null when even deleting every unpinned block would not make room.
 */
export function chooseEvictions(entries: readonly CacheEntry[], heads: ReadonlySet<string>, pinned: ReadonlySet<string>, incoming: number, budget: number): CacheEntry[] | null {
  let total = entries.reduce((s, e) => s + e.bytes, 0);
  if (total + incoming <= budget) return [];
  const order = entries
    .filter((e) => !pinned.has(e.hash))
    .sort((a, b) => Number(heads.has(a.hash)) - Number(heads.has(b.hash)) || a.lastUsed - b.lastUsed);
  const victims: CacheEntry[] = [];
  for (const e of order) {
    if (total + incoming <= budget) break;
    victims.push(e);
    total -= e.bytes;
  }
  return total + incoming <= budget ? victims : null;
}

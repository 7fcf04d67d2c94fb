/**
 * A least-recently-used map bounded by total weight (bytes, or 1 per entry): what the relay keeps
 * of immutable, content-addressed things (payloads, block rows) so that serving them again costs
 * no disk or database read. Values must never change under a key.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private total = 0;

  constructor(
    private readonly capacity: number,
    private readonly weigh: (v: V) => number = () => 1,
  ) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Keeps `value` unless it alone outweighs the capacity; evicts the least recently used to fit. */
  set(key: K, value: V): void {
    const w = this.weigh(value);
    if (w > this.capacity) return;
    this.delete(key);
    this.map.set(key, value);
    this.total += w;
    for (const [k, v] of this.map) {
      if (this.total <= this.capacity) break;
      this.map.delete(k);
      this.total -= this.weigh(v);
    }
  }

  delete(key: K): void {
    const v = this.map.get(key);
    if (v === undefined) return;
    this.map.delete(key);
    this.total -= this.weigh(v);
  }
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/** At most `max` takes per key per window: in one process's memory, or shared by replicas. */
export interface KeyLimiter {
  /** Takes one slot for `key`, or returns how long until one frees up. */
  take(key: string): Promise<Take>;
}

/**
 * Sliding-window limit per key, in memory: at most `max` takes per `windowMs`. It resets when the
 * relay restarts, which bounds a flood as well as a persisted count would for a single process.
 */
export class RateLimiter implements KeyLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  async take(key: string): Promise<Take> {
    const now = this.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length >= this.max) {
      this.hits.set(key, recent);
      return { ok: false, retryAfterMs: recent[0]! + this.windowMs - now };
    }
    recent.push(now);
    this.hits.set(key, recent);
    return { ok: true };
  }
}

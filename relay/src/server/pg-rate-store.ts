import type { Store } from 'hono-rate-limiter';
import type pg from 'pg';
import type { KeyLimiter, Take } from './rate-limit.ts';

/** Expired counters of other clients removed by each count: the table stays about as large as the live clients. */
const PRUNE = 8;

/**
 * hono-rate-limiter's Store on PostgreSQL: one fixed-window counter per key in `rate_hits`, counted
 * by one upsert, so every replica sharing the database counts against the same limit.
 */
export class PgRateStore implements Store {
  private windowMs = 60_000;
  readonly localKeys = false;

  constructor(private readonly pool: pg.Pool) {}

  init(options: { windowMs: number }): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<{ totalHits: number; resetTime: Date }> {
    const now = Date.now();
    const { rows } = await this.pool.query<{ hits: number; reset_at: number }>(
      `WITH pruned AS (DELETE FROM rate_hits WHERE key IN (SELECT key FROM rate_hits WHERE reset_at <= $2 AND key <> $1 LIMIT ${PRUNE}))
       INSERT INTO rate_hits AS r (key, hits, reset_at) VALUES ($1, 1, $2 + $3)
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.reset_at <= $2 THEN 1 ELSE r.hits + 1 END,
         reset_at = CASE WHEN r.reset_at <= $2 THEN $2 + $3 ELSE r.reset_at END
       RETURNING hits, reset_at`,
      [key, now, this.windowMs],
    );
    return { totalHits: rows[0]!.hits, resetTime: new Date(rows[0]!.reset_at) };
  }

  async decrement(key: string): Promise<void> {
    await this.pool.query('UPDATE rate_hits SET hits = hits - 1 WHERE key = $1 AND hits > 0', [key]);
  }

  async resetKey(key: string): Promise<void> {
    await this.pool.query('DELETE FROM rate_hits WHERE key = $1', [key]);
  }
}

/** A per-account limit shared by replicas: at most `max` takes per key per fixed window, counted in PgRateStore. */
export class PgKeyLimiter implements KeyLimiter {
  private readonly store: PgRateStore;

  constructor(
    pool: pg.Pool,
    private readonly max: number,
    windowMs: number,
    private readonly prefix: string,
  ) {
    this.store = new PgRateStore(pool);
    this.store.init({ windowMs });
  }

  async take(key: string): Promise<Take> {
    const { totalHits, resetTime } = await this.store.increment(`${this.prefix}:${key}`);
    return totalHits <= this.max ? { ok: true } : { ok: false, retryAfterMs: Math.max(0, resetTime.getTime() - Date.now()) };
  }
}

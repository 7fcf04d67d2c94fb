import type { Address } from '@blyan/block';
import { splitCredit } from '@blyan/rounds';
import type Database from 'better-sqlite3';
import { REWARDS_ACCOUNT, type Journal, type Posting, userAccount } from './journal.ts';

/** The usage pool: `units` of credit per period of `periodMs`, split over that period's counted use. */
export interface PoolConfig {
  readonly units: number;
  readonly periodMs: number;
}

export const periodOf = (at: number, pool: PoolConfig) => Math.floor(at / pool.periodMs);

/**
 * Each author's share of a pool in proportion to counted use, in whole units by the largest
 * remainder: `splitCredit`, the same rule a round's credit is split by, so the shares sum to the
 * pool exactly (some use counted) and every split of credit on this relay rounds alike. Authors
 * whose share rounds to 0 are left out; largest share first.
 */
export function splitPool(units: number, uses: ReadonlyMap<Address, number>): { address: Address; amount: number }[] {
  const authors = [...uses];
  const parts = splitCredit(units, authors.map(([, n]) => n));
  return authors
    .map(([address], i) => ({ address, amount: parts[i]! }))
    .filter((c) => c.amount > 0)
    .sort((a, b) => b.amount - a.amount || a.address.localeCompare(b.address));
}

/** settleUsage's statements, prepared once per database: it runs before every usage, leaderboard and history request. */
const prepared = new WeakMap<Database.Database, ReturnType<typeof prepare>>();
const prepare = (db: Database.Database) => ({
  open: db.prepare<[number], { period: number }>(
    'SELECT DISTINCT period FROM usage_counts WHERE period > coalesce((SELECT max(period) FROM usage_periods), -1) AND period < ? ORDER BY period',
  ),
  uses: db.prepare<[number], { author: Address; n: number }>('SELECT author, COUNT(*) AS n FROM usage_counts WHERE period = ? GROUP BY author'),
  close: db.prepare('INSERT INTO usage_periods (period, settled_at, pool, paid) VALUES (?, ?, ?, ?)'),
});

/**
 * Pays out every period before `now`'s that has counted use and is not yet settled: one journal
 * entry per period, the rewards account paying at most `pool.units`, each author credited for the
 * (account, block) pairs counted on its blocks. Idempotent: a settled period is never paid again.
 * Periods settle in order and counts only go to the current one, so only counts after the last
 * settled period are read (a range of the primary key), not every past count.
 */
export function settleUsage(db: Database.Database, journal: Journal, pool: PoolConfig, now: number): { period: number; paid: number }[] {
  let s = prepared.get(db);
  if (s === undefined) prepared.set(db, (s = prepare(db)));
  const { open, uses, close } = s;
  return db.transaction(() =>
    open.all(periodOf(now, pool)).map(({ period }) => {
      const credited = splitPool(pool.units, new Map(uses.all(period).map((r) => [r.author, r.n])));
      const paid = credited.reduce((s, c) => s + c.amount, 0);
      if (paid > 0) {
        const postings: Posting[] = [{ account: REWARDS_ACCOUNT, amount: -paid }, ...credited.map((c) => ({ account: userAccount(c.address), amount: c.amount }))];
        journal.post({ kind: 'usage', ref: `period:${period}`, memo: `usage pool of period ${period} (${new Date(period * pool.periodMs).toISOString()})`, postings });
      }
      close.run(period, now, pool.units, paid);
      return { period, paid };
    }),
  )();
}

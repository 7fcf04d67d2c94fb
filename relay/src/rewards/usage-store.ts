import type { Address, Hash } from '@blyan/block';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { inTransaction } from '../store/pg-pool.ts';
import { USAGE_LOCK } from '../store/pg-schema.ts';
import type { Journal } from './journal.ts';
import { PgJournal } from './pg-journal.ts';
import { type PoolConfig, periodOf, splitPool, usagePayout } from './pool.ts';

/** One expert entry of a checked usage report: its block, who wrote it, and whether it counts (its slot's head now, written by someone else). */
export interface UsageLine {
  readonly slot: string;
  readonly block: Hash;
  readonly tokens: number;
  readonly author: Address;
  readonly counts: boolean;
}

/** A checked usage report, its id the SHA-256 of its signed text. */
export interface UsageReport {
  readonly id: string;
  readonly account: Address;
  readonly at: number;
  readonly tokens: number;
  readonly lines: readonly UsageLine[];
}

/**
 * Usage reports and the usage pool: in accounts.sqlite (SqliteUsage) or on PostgreSQL shared by
 * replicas (PgUsage). Use counts toward the first period not yet settled at or after the report's
 * own (a replica whose clock is behind another's never counts into a period already paid).
 */
export interface UsageStore {
  /** Records `r` once (null if its id was recorded before) and counts each of its counting lines once per (period, account, block); returns the period and the blocks newly counted. */
  record(r: UsageReport, period: number): Promise<{ period: number; counted: Hash[] } | null>;
  /**
   * Pays out every period before `now`'s that has counted use and is not yet settled: one journal
   * entry per period, the rewards account paying at most `pool.units`, each author credited for
   * the (account, block) pairs counted on its blocks. A settled period is never paid again.
   * Returns what this call paid: concurrent callers' lists together name each paid period once.
   */
  settle(pool: PoolConfig, now: number): Promise<{ period: number; paid: number }[]>;
}

/** The first period at or after `period` that is not settled, given the last settled one. */
const openPeriod = (period: number, last: number | null) => Math.max(period, (last ?? -1) + 1);

/** Usage in accounts.sqlite: statements prepared once, each report and each settlement one transaction. */
export class SqliteUsage implements UsageStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly journal: Journal,
  ) {
    this.s = {
      report: db.prepare('INSERT INTO usage_reports (id, account, at, tokens) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      line: db.prepare('INSERT INTO usage (report, slot, block, tokens, at) VALUES (?, ?, ?, ?, ?)'),
      count: db.prepare('INSERT INTO usage_counts (period, account, block, author) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      last: db.prepare<[], { p: number | null }>('SELECT max(period) AS p FROM usage_periods'),
      open: db.prepare<[number], { period: number }>(
        'SELECT DISTINCT period FROM usage_counts WHERE period > coalesce((SELECT max(period) FROM usage_periods), -1) AND period < ? ORDER BY period',
      ),
      uses: db.prepare<[number], { author: Address; n: number }>('SELECT author, COUNT(*) AS n FROM usage_counts WHERE period = ? GROUP BY author'),
      close: db.prepare('INSERT INTO usage_periods (period, settled_at, pool, paid) VALUES (?, ?, ?, ?)'),
    };
  }

  async record(r: UsageReport, period: number): Promise<{ period: number; counted: Hash[] } | null> {
    return this.db.transaction(() => {
      if (this.s.report.run(r.id, r.account, r.at, r.tokens).changes === 0) return null;
      const p = openPeriod(period, this.s.last.get()!.p);
      const counted: Hash[] = [];
      for (const l of r.lines) {
        this.s.line.run(r.id, l.slot, l.block, l.tokens, r.at);
        if (l.counts && this.s.count.run(p, r.account, l.block, l.author).changes === 1) counted.push(l.block);
      }
      return { period: p, counted };
    })();
  }

  async settle(pool: PoolConfig, now: number): Promise<{ period: number; paid: number }[]> {
    return this.db.transaction(() =>
      this.s.open.all(periodOf(now, pool)).map(({ period }) => {
        const { paid, entry } = usagePayout(period, splitPool(pool.units, new Map(this.s.uses.all(period).map((r) => [r.author, r.n]))), pool);
        if (entry !== null) this.journal.post(entry);
        this.s.close.run(period, now, pool.units, paid);
        return { period, paid };
      }),
    )();
  }
}

const OPEN_PERIODS = 'SELECT DISTINCT period FROM usage_counts WHERE period > coalesce((SELECT max(period) FROM usage_periods), -1) AND period < $1 ORDER BY period';

/**
 * Usage on PostgreSQL, shared by replicas: reports hold the usage lock shared and a settlement
 * holds it alone, so no count lands in a period while it is being paid, and the database refuses
 * a count into a settled period and a second settlement of one (pg-schema.ts, migration 5).
 */
export class PgUsage implements UsageStore {
  constructor(private readonly pool: pg.Pool) {}

  async record(r: UsageReport, period: number): Promise<{ period: number; counted: Hash[] } | null> {
    return inTransaction(this.pool, async (q) => {
      await q.query('SELECT pg_advisory_xact_lock_shared($1)', [USAGE_LOCK]);
      const fresh = await q.query('INSERT INTO usage_reports (id, account, at, tokens) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [r.id, r.account, r.at, r.tokens]);
      if (fresh.rowCount !== 1) return null;
      await q.query('INSERT INTO usage (report, slot, block, tokens, at) SELECT $1, s, b, t, $5 FROM unnest($2::text[], $3::text[], $4::int[]) AS x (s, b, t)', [
        r.id,
        r.lines.map((l) => l.slot),
        r.lines.map((l) => l.block),
        r.lines.map((l) => l.tokens),
        r.at,
      ]);
      const last = (await q.query<{ p: number | null }>('SELECT max(period) AS p FROM usage_periods')).rows[0]!.p;
      const p = openPeriod(period, last);
      const lines = r.lines.filter((l) => l.counts);
      const counted = await q.query<{ block: Hash }>(
        'INSERT INTO usage_counts (period, account, block, author) SELECT $1, $2, b, a FROM unnest($3::text[], $4::text[]) AS x (b, a) ON CONFLICT DO NOTHING RETURNING block',
        [p, r.account, lines.map((l) => l.block), lines.map((l) => l.author)],
      );
      const got = new Set(counted.rows.map((x) => x.block));
      return { period: p, counted: lines.map((l) => l.block).filter((b) => got.has(b)) };
    });
  }

  async settle(pool: PoolConfig, now: number): Promise<{ period: number; paid: number }[]> {
    const current = periodOf(now, pool);
    if ((await this.pool.query(OPEN_PERIODS, [current])).rowCount === 0) return [];
    return inTransaction(this.pool, async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1)', [USAGE_LOCK]);
      const out: { period: number; paid: number }[] = [];
      for (const { period } of (await q.query<{ period: number }>(OPEN_PERIODS, [current])).rows) {
        const uses = await q.query<{ author: Address; n: number }>('SELECT author, count(*)::int AS n FROM usage_counts WHERE period = $1 GROUP BY author', [period]);
        const { paid, entry } = usagePayout(period, splitPool(pool.units, new Map(uses.rows.map((r) => [r.author, r.n]))), pool);
        if (entry !== null) await PgJournal.post(q, entry, now);
        await q.query('INSERT INTO usage_periods (period, settled_at, pool, paid) VALUES ($1, $2, $3, $4)', [period, now, pool.units, paid]);
        out.push({ period, paid });
      }
      return out;
    });
  }
}

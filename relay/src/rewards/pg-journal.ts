import type { Address } from '@blyan/block';
import type pg from 'pg';
import { HISTORY_SQL, type HistoryLine, type JournalEntry, LEADERS_SQL, type RewardsBook, type TrialBalance, checkEntry, toLeader, userAccount } from './journal.ts';

/**
 * The rewards journal on PostgreSQL, shared by replicas and workers. The database itself refuses
 * an entry that does not balance (checked at commit), a second entry of one (kind, ref), and any
 * change to a written entry (pg-schema.ts, migration 3); `post` checks too, for a clear error.
 */
export class PgJournal implements RewardsBook {
  constructor(private readonly pool: pg.Pool) {}

  /** Writes an entry on `client`, inside the caller's transaction; returns its id. */
  static async post(client: pg.PoolClient, e: JournalEntry, at: number): Promise<number> {
    checkEntry(e);
    const { rows } = await client.query<{ id: number }>('INSERT INTO journal (at, kind, ref, memo) VALUES ($1, $2, $3, $4) RETURNING id', [at, e.kind, e.ref, e.memo]);
    const id = rows[0]!.id;
    for (const p of e.postings) {
      await client.query('INSERT INTO ledger_accounts (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [p.account, at]);
      await client.query('INSERT INTO postings (journal_id, account, amount) VALUES ($1, $2, $3)', [id, p.account, p.amount]);
    }
    return id;
  }

  async balance(account: string): Promise<number> {
    const { rows } = await this.pool.query<{ b: number | null }>('SELECT SUM(amount)::bigint AS b FROM postings WHERE account = $1', [account]);
    return rows[0]?.b ?? 0;
  }

  async trialBalance(): Promise<TrialBalance> {
    const t = (await this.pool.query<{ total: number | null; entries: number }>('SELECT SUM(amount)::bigint AS total, COUNT(DISTINCT journal_id)::bigint AS entries FROM postings')).rows[0]!;
    const unbalanced = await this.pool.query<{ journal_id: number }>('SELECT journal_id FROM postings GROUP BY journal_id HAVING SUM(amount) <> 0');
    return { total: t.total ?? 0, entries: t.entries, unbalanced: unbalanced.rows.map((r) => r.journal_id) };
  }

  async leaderboard(limit: number): Promise<{ address: Address; balance: number }[]> {
    return (await this.pool.query<{ account: string; balance: number }>(`${LEADERS_SQL} $1`, [limit])).rows.map(toLeader);
  }

  async history(address: Address, limit: number): Promise<HistoryLine[]> {
    return (await this.pool.query<HistoryLine>(`${HISTORY_SQL} $1 ORDER BY j.id DESC LIMIT $2`, [userAccount(address), limit])).rows;
  }
}

import type { Address } from '@blyan/block';
import type Database from 'better-sqlite3';

/** The account that issues every reward: its balance is minus everything ever credited. */
export const REWARDS_ACCOUNT = 'system:rewards';
export const userAccount = (a: Address) => `user:${a}`;

export type EntryKind = 'contribution' | 'usage' | 'review' | 'round';

export interface Posting {
  readonly account: string;
  /** Integer credit units; never 0. */
  readonly amount: number;
}

export interface JournalEntry {
  readonly kind: EntryKind;
  /** What the entry is for (contribution id, usage report id); one entry per kind and ref. */
  readonly ref: string;
  readonly memo: string;
  readonly postings: readonly Posting[];
}

export interface HistoryLine {
  readonly entry: number;
  readonly at: number;
  readonly kind: EntryKind;
  readonly ref: string;
  readonly memo: string;
  readonly amount: number;
}

export interface TrialBalance {
  /** The sum of all postings: 0 when sound. */
  readonly total: number;
  readonly entries: number;
  /** Entries whose postings do not sum to 0. */
  readonly unbalanced: number[];
}

/** What the rewards routes read: balances, the trial balance, the leaderboard and an account's history. */
export interface RewardsBook {
  balance(account: string): Promise<number>;
  trialBalance(): Promise<TrialBalance>;
  leaderboard(limit: number): Promise<{ address: Address; balance: number }[]>;
  history(address: Address, limit: number): Promise<HistoryLine[]>;
}

/** Checks an entry before it is written: two or more non-zero integer postings that sum to 0. */
export function checkEntry(e: JournalEntry): void {
  if (e.postings.length < 2) throw new Error('a journal entry needs at least two postings');
  let sum = 0;
  for (const p of e.postings) {
    if (!Number.isSafeInteger(p.amount) || p.amount === 0) throw new Error(`posting amount must be a non-zero integer, got ${p.amount}`);
    sum += p.amount;
  }
  if (sum !== 0) throw new Error(`journal entry ${e.kind}:${e.ref} does not balance (sum ${sum})`);
}

/** An account's history lines, newest first (the account and limit follow as parameters). */
export const HISTORY_SQL = 'SELECT j.id AS entry, j.at, j.kind, j.ref, j.memo, p.amount FROM postings p JOIN journal j ON j.id = p.journal_id WHERE p.account =';

/** The leaderboard's SQL, the same on SQLite and PostgreSQL. */
export const LEADERS_SQL = "SELECT account, SUM(amount) AS balance FROM postings WHERE account LIKE 'user:%' GROUP BY account ORDER BY balance DESC, account LIMIT";
export const toLeader = (r: { account: string; balance: number }) => ({ address: r.account.slice('user:'.length) as Address, balance: Number(r.balance) });

/**
 * Double-entry rewards in accounts.sqlite: each journal entry's postings are integers summing to
 * zero, written in one transaction with their entry. Balances are sums of postings, so they always
 * balance. (PgJournal is the same book on PostgreSQL.)
 */
export class Journal implements RewardsBook {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.s = {
      account: db.prepare('INSERT INTO ledger_accounts (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      entry: db.prepare('INSERT INTO journal (at, kind, ref, memo) VALUES (?, ?, ?, ?)'),
      posting: db.prepare('INSERT INTO postings (journal_id, account, amount) VALUES (?, ?, ?)'),
      balance: db.prepare<[string], { b: number | null }>('SELECT SUM(amount) AS b FROM postings WHERE account = ?'),
      total: db.prepare<[], { total: number | null; entries: number }>('SELECT SUM(amount) AS total, COUNT(DISTINCT journal_id) AS entries FROM postings'),
      unbalanced: db.prepare<[], { journal_id: number }>('SELECT journal_id FROM postings GROUP BY journal_id HAVING SUM(amount) <> 0'),
      leaders: db.prepare<[number], { account: string; balance: number }>(`${LEADERS_SQL} ?`),
      history: db.prepare<[string, number], HistoryLine>(`${HISTORY_SQL} ? ORDER BY j.id DESC LIMIT ?`),
    };
  }

  /** Writes an entry; call inside the caller's transaction to make it part of a larger change. */
  post(e: JournalEntry): number {
    checkEntry(e);
    const at = this.now();
    return this.db.transaction(() => {
      const id = Number(this.s.entry.run(at, e.kind, e.ref, e.memo).lastInsertRowid);
      for (const p of e.postings) {
        this.s.account.run(p.account, at);
        this.s.posting.run(id, p.account, p.amount);
      }
      return id;
    })();
  }

  async balance(account: string): Promise<number> {
    return this.s.balance.get(account)?.b ?? 0;
  }

  /** The trial balance: the sum of all postings (0 when sound) and any entry that does not sum to 0. */
  async trialBalance(): Promise<TrialBalance> {
    const t = this.s.total.get()!;
    return { total: t.total ?? 0, entries: t.entries, unbalanced: this.s.unbalanced.all().map((r) => r.journal_id) };
  }

  async leaderboard(limit: number): Promise<{ address: Address; balance: number }[]> {
    return this.s.leaders.all(limit).map(toLeader);
  }

  async history(address: Address, limit: number): Promise<HistoryLine[]> {
    return this.s.history.all(userAccount(address), limit);
  }
}

import type { Address } from '@blyan/block';
import { splitCredit } from '@blyan/rounds';
import { type JournalEntry, type Posting, REWARDS_ACCOUNT, userAccount } from './journal.ts';

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

/** What period `period`'s pool pays `credited`: the sum, and the journal entry that pays it (null when nothing is paid). */
export function usagePayout(period: number, credited: readonly { address: Address; amount: number }[], pool: PoolConfig): { paid: number; entry: JournalEntry | null } {
  const paid = credited.reduce((s, c) => s + c.amount, 0);
  if (paid === 0) return { paid, entry: null };
  const postings: Posting[] = [{ account: REWARDS_ACCOUNT, amount: -paid }, ...credited.map((c) => ({ account: userAccount(c.address), amount: c.amount }))];
  return { paid, entry: { kind: 'usage', ref: `period:${period}`, memo: `usage pool of period ${period} (${new Date(period * pool.periodMs).toISOString()})`, postings } };
}

import type { Hash } from '@blyan/block';
import { type PoolConfig, periodOf } from './pool.ts';
import type { UsageReport, UsageStore } from './usage-store.ts';

type Paid = { period: number; paid: number }[];

/**
 * A UsageStore whose settlement runs at most once per period in this process: the first settle in
 * a period pays every ended one; later calls in the same period return [] without asking the store,
 * so reads that settle first (balances, history, the leaderboard, polled by the Contribute page)
 * cost no settlement query each. A report counts into the current period or a later one, so none
 * falls due before the next period begins; a replica whose clock is behind may count into an ended
 * period, paid at the first settle of the next. Calls while a settlement runs wait for it.
 */
export class SettleOncePerPeriod implements UsageStore {
  /** Every period before this one was settled by this process. */
  private settledBefore = -Infinity;
  private running: Promise<Paid> | null = null;

  constructor(private readonly store: UsageStore) {}

  record(r: UsageReport, period: number): Promise<{ period: number; counted: Hash[] } | null> {
    return this.store.record(r, period);
  }

  /** What this call paid, as the store's settle: a call that waits on another's settlement gets [] for it, so concurrent callers' lists never repeat a payment. */
  async settle(pool: PoolConfig, now: number): Promise<Paid> {
    const paid: Paid = [];
    while (periodOf(now, pool) > this.settledBefore) {
      if (this.running !== null) await this.running;
      else paid.push(...(await (this.running = this.settleNow(pool, now))));
    }
    return paid;
  }

  private async settleNow(pool: PoolConfig, now: number): Promise<Paid> {
    try {
      const paid = await this.store.settle(pool, now);
      this.settledBefore = Math.max(this.settledBefore, periodOf(now, pool));
      return paid;
    } finally {
      this.running = null;
    }
  }
}

import type { Address } from '@blyan/block';
import type { SignedVerdict } from '@blyan/chain';
import type pg from 'pg';
import { PgJournal } from '../rewards/pg-journal.ts';
import { inTransaction } from '../store/pg-pool.ts';
import type { Refusal } from './refusal.ts';
import type { Sample } from './sample.ts';
import type { ContributionStore, ContributionView, Credit, Figures, NewContribution, Pending, RejectReason, Row } from './store.ts';
import { checkQueueable, refusals, rejection, toPending, view } from './store.ts';

const UNIQUE_VIOLATION = '23505';
const SAME = "SELECT id FROM contributions WHERE base = $1 AND payload_hash = $2 AND NOT (status = 'rejected' AND reason = 'evaluation_failed') LIMIT 1";

/**
 * The ContributionStore on PostgreSQL: the queue every replica adds to and every `blyan worker`
 * takes jobs from. `claim` hands a waiting contribution to one worker for a lease (FOR UPDATE SKIP
 * LOCKED, so workers never wait on each other); a worker killed mid-job leaves its lease to run out
 * and the job to be claimed again. Whatever two workers might do twice, the database does once: a
 * delta on a base is queued once (a unique index), a verdict is written once and a decided
 * contribution never changes (a trigger), and the credit's journal entry is unique per contribution.
 */
export class PgContributionStore implements ContributionStore {
  constructor(private readonly pool: pg.Pool) {}

  async add(c: NewContribution, sample: Sample, at: number, maxQueued: number): Promise<{ ok: true; id: number } | Refusal> {
    const h = c.header;
    try {
      return await inTransaction(this.pool, async (q) => {
        const assigned = await q.query<{ slot: string; shard: number }>('SELECT slot, shard FROM assignments WHERE account = $1 AND meta = $2 AND expires_at > $3 FOR UPDATE', [c.account, c.meta, at]);
        const same = await q.query<{ id: number }>(SAME, [h.prev, h.payload_hash]);
        if (same.rows[0] !== undefined) return refusals.duplicate(h, same.rows[0].id);
        const waiting = await q.query<{ n: number }>("SELECT COUNT(*)::bigint AS n FROM contributions WHERE account = $1 AND status IN ('queued', 'appending')", [c.account]);
        const refused = checkQueueable(c, assigned.rows[0], waiting.rows[0]!.n, maxQueued);
        if (refused !== null) return refused;
        await q.query('DELETE FROM assignments WHERE account = $1', [c.account]);
        const { rows } = await q.query<{ id: number }>(
          `INSERT INTO contributions (account, signer, slot, shard, meta, base, block, payload_hash, header, delta, raw_bytes, delta_norm, status, created_at, seed, commitment)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'queued', $13, $14, $15) RETURNING id`,
          [c.account, c.signer, h.name, c.shard, c.meta, h.prev, c.block, h.payload_hash, JSON.stringify(h), Buffer.from(c.delta), c.rawBytes, c.deltaNorm, at, sample.seed, sample.commitment],
        );
        return { ok: true as const, id: rows[0]!.id };
      });
    } catch (e) {
      if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
      const same = await this.pool.query<{ id: number }>(SAME, [h.prev, h.payload_hash]);
      return refusals.duplicate(h, same.rows[0]!.id);
    }
  }

  private async row(id: number): Promise<Row | undefined> {
    return (await this.pool.query<Row>('SELECT * FROM contributions WHERE id = $1', [id])).rows[0];
  }

  async get(id: number): Promise<ContributionView | undefined> {
    const r = await this.row(id);
    return r && view(r);
  }

  async pending(id: number): Promise<Pending | undefined> {
    const r = await this.row(id);
    return r && toPending(r);
  }

  async pendingIds(): Promise<number[]> {
    return (await this.pool.query<{ id: number }>("SELECT id FROM contributions WHERE status IN ('queued', 'appending') ORDER BY id")).rows.map((r) => r.id);
  }

  async ofAccount(account: Address, limit: number): Promise<ContributionView[]> {
    return (await this.pool.query<Row>('SELECT * FROM contributions WHERE account = $1 ORDER BY id DESC LIMIT $2', [account, limit])).rows.map(view);
  }

  /** The oldest waiting contribution no live lease holds, now leased to worker `by` until `now + leaseMs`; undefined when none waits. */
  async claim(by: string, leaseMs: number, now: number): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ id: number }>(
      `UPDATE contributions SET claimed_until = $1, claimed_by = $3 WHERE id = (
         SELECT id FROM contributions WHERE status IN ('queued', 'appending') AND claimed_until <= $2 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1
       ) RETURNING id`,
      [now + leaseMs, now, by],
    );
    return rows[0]?.id;
  }

  async markAppending(id: number, f: Figures, verdict: SignedVerdict): Promise<void> {
    await this.pool.query(
      `UPDATE contributions SET status = 'appending', baseline = $2, candidate = $3, improvement = $4, eval_tokens = $5, eval_ms = $6, verdict = $7
       WHERE id = $1 AND status = 'queued'`,
      [id, f.baseline, f.candidate, f.improvement, f.tokens, f.ms, JSON.stringify(verdict)],
    );
  }

  async accept(id: number, credit: Credit, at: number): Promise<void> {
    await inTransaction(this.pool, async (q) => {
      const { rowCount } = await q.query("UPDATE contributions SET status = 'accepted', credit = $1, decided_at = $2 WHERE id = $3 AND status = 'appending'", [credit.amount, at, id]);
      if (rowCount !== 1) throw new Error(`contribution ${id} is not being appended`);
      await PgJournal.post(q, credit.entry, at);
    });
  }

  async reject(id: number, reason: RejectReason, detail: string, at: number, f?: Figures, verdict?: SignedVerdict): Promise<void> {
    const r = rejection(id, reason, detail, at, f, verdict);
    await this.pool.query(
      `UPDATE contributions SET status = 'rejected', reason = $2, detail = $3, decided_at = $4,
       baseline = coalesce($5, baseline), candidate = coalesce($6, candidate), improvement = coalesce($7, improvement),
       eval_tokens = coalesce($8, eval_tokens), eval_ms = coalesce($9, eval_ms), verdict = coalesce(verdict, $10)
       WHERE id = $1 AND status IN ('queued', 'appending')`,
      [r.id, r.reason, r.detail, r.at, r.baseline, r.candidate, r.improvement, r.tokens, r.ms, r.verdict],
    );
  }
}

import type { Address } from '@blyan/block';
import type { SignedVerdict } from '@blyan/chain';
import type Database from 'better-sqlite3';
import type { Journal } from '../rewards/journal.ts';
import type { Refusal } from './refusal.ts';
import type { Sample } from './sample.ts';
import type { ContributionStore, ContributionView, Credit, Figures, NewContribution, Pending, RejectReason, Row } from './store.ts';
import { checkQueueable, refusals, rejection, toPending, view } from './store.ts';

/** The ContributionStore in accounts.sqlite, its credits posted to the same file's journal. */
export class SqliteContributionStore implements ContributionStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly journal: Journal,
  ) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO contributions (account, signer, slot, shard, meta, base, block, payload_hash, header, delta, raw_bytes, delta_norm, status, created_at, seed, commitment)
         VALUES (@account, @signer, @slot, @shard, @meta, @base, @block, @payload_hash, @header, @delta, @raw_bytes, @delta_norm, 'queued', @created_at, @seed, @commitment)`,
      ),
      same: db.prepare<[string, string], { id: number }>(
        "SELECT id FROM contributions WHERE base = ? AND payload_hash = ? AND NOT (status = 'rejected' AND reason = 'evaluation_failed') LIMIT 1",
      ),
      assigned: db.prepare<[string, string, number], { slot: string; shard: number }>('SELECT slot, shard FROM assignments WHERE account = ? AND meta = ? AND expires_at > ?'),
      useUp: db.prepare<[string]>('DELETE FROM assignments WHERE account = ?'),
      waiting: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM contributions WHERE account = ? AND status IN ('queued', 'appending')"),
      get: db.prepare<[number], Row>('SELECT * FROM contributions WHERE id = ?'),
      pending: db.prepare<[], { id: number }>("SELECT id FROM contributions WHERE status IN ('queued', 'appending') ORDER BY id"),
      byAccount: db.prepare<[string, number], Row>('SELECT * FROM contributions WHERE account = ? ORDER BY id DESC LIMIT ?'),
      figures: db.prepare(
        `UPDATE contributions SET status = 'appending', baseline = @baseline, candidate = @candidate, improvement = @improvement,
         eval_tokens = @tokens, eval_ms = @ms, verdict = @verdict WHERE id = @id AND status = 'queued'`,
      ),
      accept: db.prepare("UPDATE contributions SET status = 'accepted', credit = ?, decided_at = ? WHERE id = ? AND status = 'appending'"),
      reject: db.prepare(
        `UPDATE contributions SET status = 'rejected', reason = @reason, detail = @detail, decided_at = @at,
         baseline = coalesce(@baseline, baseline), candidate = coalesce(@candidate, candidate), improvement = coalesce(@improvement, improvement),
         eval_tokens = coalesce(@tokens, eval_tokens), eval_ms = coalesce(@ms, eval_ms), verdict = coalesce(@verdict, verdict)
         WHERE id = @id AND status IN ('queued', 'appending')`,
      ),
    };
  }

  async add(c: NewContribution, sample: Sample, at: number, maxQueued: number): Promise<{ ok: true; id: number } | Refusal> {
    return this.db.transaction((): { ok: true; id: number } | Refusal => {
      const h = c.header;
      const same = this.s.same.get(h.prev, h.payload_hash);
      if (same !== undefined) return refusals.duplicate(h, same.id);
      const refused = checkQueueable(c, this.s.assigned.get(c.account, c.meta, at), this.s.waiting.get(c.account)!.n, maxQueued);
      if (refused !== null) return refused;
      this.s.useUp.run(c.account);
      const { lastInsertRowid } = this.s.insert.run({
        account: c.account,
        signer: c.signer,
        slot: h.name,
        shard: c.shard,
        meta: c.meta,
        base: h.prev,
        block: c.block,
        payload_hash: h.payload_hash,
        header: JSON.stringify(h),
        delta: c.delta,
        raw_bytes: c.rawBytes,
        delta_norm: c.deltaNorm,
        created_at: at,
        seed: sample.seed,
        commitment: sample.commitment,
      });
      return { ok: true, id: Number(lastInsertRowid) };
    })();
  }

  async get(id: number): Promise<ContributionView | undefined> {
    const r = this.s.get.get(id);
    return r && view(r);
  }

  async pending(id: number): Promise<Pending | undefined> {
    const r = this.s.get.get(id);
    return r && toPending(r);
  }

  async pendingIds(): Promise<number[]> {
    return this.s.pending.all().map((r) => r.id);
  }

  async ofAccount(account: Address, limit: number): Promise<ContributionView[]> {
    return this.s.byAccount.all(account, limit).map(view);
  }

  async markAppending(id: number, f: Figures, verdict: SignedVerdict): Promise<void> {
    this.s.figures.run({ id, ...f, verdict: JSON.stringify(verdict) });
  }

  async accept(id: number, credit: Credit, at: number): Promise<void> {
    this.db.transaction(() => {
      if (this.s.accept.run(credit.amount, at, id).changes !== 1) throw new Error(`contribution ${id} is not being appended`);
      this.journal.post(credit.entry);
    })();
  }

  async reject(id: number, reason: RejectReason, detail: string, at: number, f?: Figures, verdict?: SignedVerdict): Promise<void> {
    this.s.reject.run(rejection(id, reason, detail, at, f, verdict));
  }
}

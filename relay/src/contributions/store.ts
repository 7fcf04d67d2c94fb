import type { Address, BlockHeader, Hash } from '@blyan/block';
import { type SignedVerdict, parseVerdict } from '@blyan/chain';
import type Database from 'better-sqlite3';
import { type Refusal, refuse } from './refusal.ts';
import type { Sample } from './sample.ts';

export type ContributionStatus = 'queued' | 'appending' | 'accepted' | 'rejected';

/** Why evaluation refused a queued contribution. */
export type RejectReason = 'stale_base' | 'no_improvement' | 'evaluation_failed' | 'append_refused';

export interface Figures {
  readonly baseline: number;
  readonly candidate: number;
  readonly improvement: number;
  readonly tokens: number;
  readonly ms: number;
}

export interface NewContribution {
  readonly account: Address;
  readonly signer: Address;
  readonly header: BlockHeader & { prev: Hash };
  readonly meta: Hash;
  readonly block: Hash;
  /** The train shard the block says it was trained on (header meta.shard). */
  readonly shard: number;
  readonly delta: Uint8Array;
  readonly rawBytes: number;
  readonly deltaNorm: number;
}

/** A contribution as GET /v1/contributions/:id shows it. */
export interface ContributionView {
  readonly id: number;
  readonly account: Address;
  readonly slot: string;
  readonly shard: number;
  readonly base: Hash;
  readonly block: Hash;
  readonly status: ContributionStatus;
  readonly reason: RejectReason | null;
  readonly detail: string | null;
  readonly delta: { readonly bytes: number; readonly raw_bytes: number; readonly ratio: number; readonly norm: number };
  readonly figures: Figures | null;
  readonly credit: number | null;
  /** SHA-256 of the seed that draws the evaluation windows, published at intake. */
  readonly commitment: Hash;
  /** The evaluator's signed verdict, accepted or not, revealing the seed; null until judged. */
  readonly verdict: SignedVerdict | null;
  readonly created_at: number;
  readonly decided_at: number | null;
}

interface Row {
  id: number;
  account: Address;
  signer: Address;
  slot: string;
  meta: Hash;
  base: Hash;
  block: Hash;
  payload_hash: Hash;
  shard: number;
  header: string;
  delta: Buffer;
  raw_bytes: number;
  delta_norm: number;
  status: ContributionStatus;
  reason: RejectReason | null;
  detail: string | null;
  baseline: number | null;
  candidate: number | null;
  improvement: number | null;
  eval_tokens: number | null;
  eval_ms: number | null;
  credit: number | null;
  created_at: number;
  decided_at: number | null;
  seed: Hash;
  commitment: Hash;
  verdict: string | null;
}

/** A queued contribution as the evaluation worker reads it. */
export interface Pending {
  readonly id: number;
  readonly account: Address;
  readonly meta: Hash;
  readonly header: BlockHeader & { prev: Hash };
  readonly delta: Uint8Array;
  readonly status: 'queued' | 'appending';
  readonly sample: Sample;
  /** Stored once evaluation passed (`appending`), with its verdict. */
  readonly judged: { readonly figures: Figures; readonly verdict: SignedVerdict } | null;
}

function figures(r: Row): Figures | null {
  return r.baseline === null ? null : { baseline: r.baseline, candidate: r.candidate!, improvement: r.improvement!, tokens: r.eval_tokens!, ms: r.eval_ms! };
}

function view(r: Row): ContributionView {
  return {
    id: r.id,
    account: r.account,
    slot: r.slot,
    shard: r.shard,
    base: r.base,
    block: r.block,
    status: r.status,
    reason: r.reason,
    detail: r.detail,
    delta: { bytes: r.delta.length, raw_bytes: r.raw_bytes, ratio: r.raw_bytes / r.delta.length, norm: r.delta_norm },
    figures: figures(r),
    credit: r.credit,
    commitment: r.commitment,
    verdict: r.verdict === null ? null : parseVerdict(JSON.parse(r.verdict)),
    created_at: r.created_at,
    decided_at: r.decided_at,
  };
}

/**
 * Contribution rows: queued at intake (on the account's assignment, which it uses up), then
 * `appending` (figures and verdict stored) and `accepted`, or `rejected` (with the verdict when
 * one was signed).
 */
export class ContributionStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
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

  /**
   * Queues `c` in one transaction, or refuses it: the same delta on the same base already
   * submitted (409 duplicate, unless its evaluation failed on the relay's side), a slot or shard
   * other than the account's live assignment (403), or `maxQueued` contributions of the account
   * already waiting (429). Queuing uses the assignment up.
   */
  add(c: NewContribution, sample: Sample, at: number, maxQueued: number): { ok: true; id: number } | Refusal {
    return this.db.transaction((): { ok: true; id: number } | Refusal => {
      const h = c.header;
      const same = this.s.same.get(h.prev, h.payload_hash);
      if (same !== undefined) return refuse(409, 'duplicate', `this delta on ${h.prev} was already submitted as contribution ${same.id}; it is judged once`);
      const assigned = this.s.assigned.get(c.account, c.meta, at);
      if (assigned?.slot !== h.name) {
        return refuse(403, 'not_assigned', `${c.account} is assigned ${assigned === undefined ? 'nothing (GET /v1/assignment first)' : assigned.slot}, not ${h.name}`);
      }
      if (assigned.shard !== c.shard) return refuse(403, 'wrong_shard', `the block names train shard ${c.shard}; ${c.account} was assigned shard ${assigned.shard}`);
      const waiting = this.s.waiting.get(c.account)!.n;
      if (waiting >= maxQueued) return refuse(429, 'queue_full', `${c.account} has ${waiting} contributions waiting for evaluation, the most an account may have; submit again once one is judged`);
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

  get(id: number): ContributionView | undefined {
    const r = this.s.get.get(id);
    return r && view(r);
  }

  pending(id: number): Pending | undefined {
    const r = this.s.get.get(id);
    if (r?.status !== 'queued' && r?.status !== 'appending') return undefined;
    return {
      id: r.id,
      account: r.account,
      meta: r.meta,
      header: JSON.parse(r.header) as Pending['header'],
      delta: new Uint8Array(r.delta),
      status: r.status,
      sample: { seed: r.seed, commitment: r.commitment },
      judged: r.status === 'appending' ? { figures: figures(r)!, verdict: parseVerdict(JSON.parse(r.verdict!)) } : null,
    };
  }

  pendingIds(): number[] {
    return this.s.pending.all().map((r) => r.id);
  }

  ofAccount(account: Address, limit: number): ContributionView[] {
    return this.s.byAccount.all(account, limit).map(view);
  }

  /** Stores the figures and accepting verdict of a contribution about to be appended. */
  markAppending(id: number, f: Figures, verdict: SignedVerdict): void {
    this.s.figures.run({ id, ...f, verdict: JSON.stringify(verdict) });
  }

  /** Marks it accepted; run inside the transaction that posts its credit. */
  markAccepted(id: number, credit: number, at: number): void {
    if (this.s.accept.run(credit, at, id).changes !== 1) throw new Error(`contribution ${id} is not being appended`);
  }

  reject(id: number, reason: RejectReason, detail: string, at: number, f?: Figures, verdict?: SignedVerdict): void {
    this.s.reject.run({
      id,
      reason,
      detail,
      at,
      baseline: f?.baseline ?? null,
      candidate: f?.candidate ?? null,
      improvement: f?.improvement ?? null,
      tokens: f?.tokens ?? null,
      ms: f?.ms ?? null,
      verdict: verdict === undefined ? null : JSON.stringify(verdict),
    });
  }
}

import type { Address, BlockHeader, Hash } from '@blyan/block';
import type Database from 'better-sqlite3';

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
  readonly delta: Uint8Array;
  readonly rawBytes: number;
  readonly deltaNorm: number;
}

/** A contribution as GET /v1/contributions/:id shows it. */
export interface ContributionView {
  readonly id: number;
  readonly account: Address;
  readonly slot: string;
  readonly base: Hash;
  readonly block: Hash;
  readonly status: ContributionStatus;
  readonly reason: RejectReason | null;
  readonly detail: string | null;
  readonly delta: { readonly bytes: number; readonly raw_bytes: number; readonly ratio: number; readonly norm: number };
  readonly figures: Figures | null;
  readonly credit: number | null;
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
}

/** A queued contribution as the evaluation worker reads it. */
export interface Pending {
  readonly id: number;
  readonly account: Address;
  readonly meta: Hash;
  readonly header: BlockHeader & { prev: Hash };
  readonly delta: Uint8Array;
  readonly status: 'queued' | 'appending';
  /** Stored once evaluation passed (`appending`). */
  readonly figures: Figures | null;
}

function figures(r: Row): Figures | null {
  return r.baseline === null ? null : { baseline: r.baseline, candidate: r.candidate!, improvement: r.improvement!, tokens: r.eval_tokens!, ms: r.eval_ms! };
}

function view(r: Row): ContributionView {
  return {
    id: r.id,
    account: r.account,
    slot: r.slot,
    base: r.base,
    block: r.block,
    status: r.status,
    reason: r.reason,
    detail: r.detail,
    delta: { bytes: r.delta.length, raw_bytes: r.raw_bytes, ratio: r.raw_bytes / r.delta.length, norm: r.delta_norm },
    figures: figures(r),
    credit: r.credit,
    created_at: r.created_at,
    decided_at: r.decided_at,
  };
}

/** Contribution rows: queued at intake, then `appending` (figures stored) and `accepted`, or `rejected`. */
export class ContributionStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO contributions (account, signer, slot, meta, base, block, header, delta, raw_bytes, delta_norm, status, created_at)
         VALUES (@account, @signer, @slot, @meta, @base, @block, @header, @delta, @raw_bytes, @delta_norm, 'queued', @created_at)`,
      ),
      get: db.prepare<[number], Row>('SELECT * FROM contributions WHERE id = ?'),
      pending: db.prepare<[], { id: number }>("SELECT id FROM contributions WHERE status IN ('queued', 'appending') ORDER BY id"),
      recent: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM contributions WHERE account = ? AND created_at > ?'),
      byAccount: db.prepare<[string, number], Row>('SELECT * FROM contributions WHERE account = ? ORDER BY id DESC LIMIT ?'),
      figures: db.prepare(
        `UPDATE contributions SET status = 'appending', baseline = @baseline, candidate = @candidate, improvement = @improvement,
         eval_tokens = @tokens, eval_ms = @ms WHERE id = @id AND status = 'queued'`,
      ),
      accept: db.prepare("UPDATE contributions SET status = 'accepted', credit = ?, decided_at = ? WHERE id = ? AND status = 'appending'"),
      reject: db.prepare(
        `UPDATE contributions SET status = 'rejected', reason = @reason, detail = @detail, decided_at = @at,
         baseline = coalesce(@baseline, baseline), candidate = coalesce(@candidate, candidate), improvement = coalesce(@improvement, improvement),
         eval_tokens = coalesce(@tokens, eval_tokens), eval_ms = coalesce(@ms, eval_ms)
         WHERE id = @id AND status IN ('queued', 'appending')`,
      ),
    };
  }

  add(c: NewContribution, at: number): number {
    const { lastInsertRowid } = this.s.insert.run({
      account: c.account,
      signer: c.signer,
      slot: c.header.name,
      meta: c.meta,
      base: c.header.prev,
      block: c.block,
      header: JSON.stringify(c.header),
      delta: c.delta,
      raw_bytes: c.rawBytes,
      delta_norm: c.deltaNorm,
      created_at: at,
    });
    return Number(lastInsertRowid);
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
      figures: figures(r),
    };
  }

  pendingIds(): number[] {
    return this.s.pending.all().map((r) => r.id);
  }

  countSince(account: Address, since: number): number {
    return this.s.recent.get(account, since)!.n;
  }

  ofAccount(account: Address, limit: number): ContributionView[] {
    return this.s.byAccount.all(account, limit).map(view);
  }

  /** Stores the figures of a contribution about to be appended. */
  markAppending(id: number, f: Figures): void {
    this.s.figures.run({ id, ...f });
  }

  /** Marks it accepted; run inside the transaction that posts its credit. */
  markAccepted(id: number, credit: number, at: number): void {
    if (this.s.accept.run(credit, at, id).changes !== 1) throw new Error(`contribution ${id} is not being appended`);
  }

  reject(id: number, reason: RejectReason, detail: string, at: number, f?: Figures): void {
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
    });
  }
}

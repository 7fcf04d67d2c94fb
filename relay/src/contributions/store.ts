import type { Address, BlockHeader, Hash } from '@blyan/block';
import { type SignedVerdict, parseVerdict } from '@blyan/chain';
import type { JournalEntry } from '../rewards/journal.ts';
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

/** A contributions row as both stores keep it. */
export interface Row {
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
  delta: Uint8Array;
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

export function figures(r: Row): Figures | null {
  return r.baseline === null ? null : { baseline: r.baseline, candidate: r.candidate!, improvement: r.improvement!, tokens: r.eval_tokens!, ms: r.eval_ms! };
}

export function view(r: Row): ContributionView {
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

/** The credit of an accepted contribution: its amount and the journal entry that pays it. */
export interface Credit {
  readonly amount: number;
  readonly entry: JournalEntry;
}

/**
 * Contribution rows: queued at intake (on the account's assignment, which it uses up), then
 * `appending` (figures and verdict stored) and `accepted` with its credit posted in the same
 * transaction, or `rejected` (with the verdict when one was signed). Embedded in accounts.sqlite
 * (SqliteContributionStore, judged in-process) or on PostgreSQL (PgContributionStore, the queue
 * `blyan worker` processes take jobs from).
 */
export interface ContributionStore {
  /**
   * Queues `c` in one transaction, or refuses it: the same delta on the same base already
   * submitted (409 duplicate, unless its evaluation failed on the relay's side), a slot or shard
   * other than the account's live assignment (403), or `maxQueued` contributions of the account
   * already waiting (429). Queuing uses the assignment up.
   */
  add(c: NewContribution, sample: Sample, at: number, maxQueued: number): Promise<{ ok: true; id: number } | Refusal>;
  get(id: number): Promise<ContributionView | undefined>;
  /** The contribution if it still waits for judgement or its append. */
  pending(id: number): Promise<Pending | undefined>;
  /** Every contribution a previous run left unfinished, oldest first. */
  pendingIds(): Promise<number[]>;
  ofAccount(account: Address, limit: number): Promise<ContributionView[]>;
  /** Stores the figures and accepting verdict of a contribution about to be appended. */
  markAppending(id: number, f: Figures, verdict: SignedVerdict): Promise<void>;
  /** Marks it accepted and posts its credit, in one transaction; throws if it is not being appended. */
  accept(id: number, credit: Credit, at: number): Promise<void>;
  reject(id: number, reason: RejectReason, detail: string, at: number, f?: Figures, verdict?: SignedVerdict): Promise<void>;
}

/** The columns a rejection sets, from its figures and verdict. */
export const rejection = (id: number, reason: RejectReason, detail: string, at: number, f?: Figures, verdict?: SignedVerdict) => ({
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

/** The queued contribution of a row still waiting, as the worker reads it. */
export function toPending(r: Row): Pending | undefined {
  if (r.status !== 'queued' && r.status !== 'appending') return undefined;
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

/** The refusals of `add`, the same on both stores. */
export const refusals = {
  duplicate: (h: { prev: Hash }, id: number) => refuse(409, 'duplicate', `this delta on ${h.prev} was already submitted as contribution ${id}; it is judged once`),
  notAssigned: (account: Address, assigned: string | undefined, slot: string) =>
    refuse(403, 'not_assigned', `${account} is assigned ${assigned === undefined ? 'nothing (GET /v1/assignment first)' : assigned}, not ${slot}`),
  wrongShard: (account: Address, assigned: number, shard: number) => refuse(403, 'wrong_shard', `the block names train shard ${shard}; ${account} was assigned shard ${assigned}`),
  queueFull: (account: Address, waiting: number) =>
    refuse(429, 'queue_full', `${account} has ${waiting} contributions waiting for evaluation, the most an account may have; submit again once one is judged`),
};

/** Checks `c` against the account's live assignment and queue; a refusal, or null to queue it. */
export function checkQueueable(c: NewContribution, assigned: { slot: string; shard: number } | undefined, waiting: number, maxQueued: number): Refusal | null {
  if (assigned?.slot !== c.header.name) return refusals.notAssigned(c.account, assigned?.slot, c.header.name);
  if (assigned.shard !== c.shard) return refusals.wrongShard(c.account, assigned.shard, c.shard);
  if (waiting >= maxQueued) return refusals.queueFull(c.account, waiting);
  return null;
}

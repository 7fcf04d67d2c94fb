import { type Address, type Hash, decodeTensors, encodeTensors } from '@blyan/block';
import type { Tensors } from '@blyan/rounds';
import type Database from 'better-sqlite3';
import type { Journal, JournalEntry } from '../rewards/journal.ts';

export type RoundStatus = 'open' | 'appending' | 'accepted' | 'rejected';
export type DeltaStatus = 'assigned' | 'submitted' | 'kept' | 'hurt' | 'copy';

export interface RoundRow {
  id: number;
  slot: string;
  meta: Hash;
  base: Hash;
  steps: number;
  status: RoundStatus;
  reason: string | null;
  seed: Hash;
  commitment: Hash;
  opened_at: number;
  decided_at: number | null;
  block: Hash | null;
  header: string | null;
  payload: Buffer | null;
  verdict: string | null;
  improvement: number | null;
  lower: number | null;
  pool: number | null;
  /** The chain-D dataset the round trains and is judged on; null: the meta block's hidden split. */
  dataset: string | null;
  /** The dataset's head when the round opened: its shards are cut from this version. */
  dataset_head: Hash | null;
  /** On a dataset: the candidate's mean improvement over the genesis model on the genesis hidden split, its lower bound, and the bound it had to stay above (−bound). */
  genesis_change: number | null;
  genesis_lower: number | null;
  genesis_bound: number | null;
  /** On a dataset: JSON of what each of its uploaders is paid ({ account, credit }[]). */
  uploaders: string | null;
  /** Work units the round hands out (the relay's configured contributors when it opened); it is full once each holds a delta. */
  seats: number;
  /** Work units handed out, and those holding their delta: kept with the round, so finding a round with room or a full one counts nothing. */
  issued: number;
  filled: number;
  /** The judge that claimed the round (it then takes no delta and hands out no unit), and until when its claim holds. */
  claimed_by: string | null;
  claimed_until: number;
}

/** What the uploaders of a round's dataset are paid. */
export interface SourceCredit {
  readonly account: Address;
  readonly credit: number;
}

export interface DeltaRow {
  id: number;
  round: number;
  account: Address;
  shard: number;
  issued_at: number;
  delta: Buffer | null;
  payload_hash: Hash | null;
  submitted_at: number | null;
  status: DeltaStatus;
  copy_of: number | null;
  before: number | null;
  after: number | null;
  credit: number | null;
}

/** What judging decided for one delta. */
export interface DeltaOutcome {
  readonly id: number;
  readonly status: 'kept' | 'hurt' | 'copy';
  readonly copyOf: number | null;
  readonly before: number;
  readonly after: number;
  readonly credit: number;
}

/** A slot's outer momentum as a tensors-v1 payload of f32 tensors. */
export const encodeMomentum = (m: Tensors): Uint8Array =>
  encodeTensors(Object.fromEntries(Object.entries(m).map(([name, data]) => [name, { dtype: 'f32' as const, shape: [data.length], data }])));

export function decodeMomentum(bytes: Uint8Array): Tensors {
  const { tensors } = decodeTensors(bytes);
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.data as Float32Array]));
}

/** What a round's verdict stores (decide). */
export interface Decision {
  readonly accepted: boolean;
  readonly reason: string | null;
  readonly at: number;
  readonly block: Hash | null;
  readonly header: string | null;
  readonly payload: Uint8Array | null;
  readonly verdict: string | null;
  readonly improvement: number | null;
  readonly lower: number | null;
  readonly pool: number | null;
  readonly genesis: { readonly change: number; readonly lower: number; readonly bound: number } | null;
  readonly uploaders: readonly SourceCredit[];
  readonly outcomes: readonly DeltaOutcome[];
  readonly momentum: { readonly slot: string; readonly meta: Hash; readonly state: Tensors } | null;
}

/** Which rounds a judge may claim: open ones full or past their time (or claimed by a judge whose lease ran out), and `appending` ones. */
export interface Claim {
  /** The judge's name (host and process). */
  readonly by: string;
  readonly now: number;
  readonly leaseMs: number;
  /** Open rounds opened at or before this are due whatever they hold. */
  readonly openedBy: number;
}

/** What filling a work unit did: stored, the unit already held a delta, or its round no longer takes deltas. */
export type Fill = 'stored' | 'already_submitted' | 'round_closed';

/**
 * Rounds and their work units: a round opens on a slot's head with a committed sample seed; each
 * work unit is a `round_deltas` row (account, shard) until the account's delta fills it. A judge
 * claims a due round for a lease (from then on the round takes no delta and hands out no unit), and
 * stores every delta's outcome with the round's verdict at once; a judge that dies leaves its
 * claim to run out and the round to be claimed again. The verdict is written once (the first
 * decide wins), and the credit is posted once, with the round marked accepted.
 * SqliteRoundStore keeps them in accounts.sqlite (the embedded relay); PgRoundStore on PostgreSQL,
 * shared by replicas and `blyan worker` processes.
 */
export interface RoundStore {
  open(r: { slot: string; meta: Hash; base: Hash; steps: number; seats: number; seed: Hash; commitment: Hash; at: number; dataset: string | null; datasetHead: Hash | null }): Promise<number>;
  round(id: number): Promise<RoundRow | undefined>;
  /** Open, unclaimed rounds under `meta` on `dataset` (null: on the meta block's hidden split) with a seat left. */
  withRoom(meta: Hash, dataset: string | null): Promise<RoundRow[]>;
  /** The slot of the round opened last under `meta`: rounds take the expert slots in turn. */
  /** The slot of the newest round on `meta` and `dataset` (null: the meta block's own splits). */
  lastSlot(meta: Hash, dataset: string | null): Promise<string | null>;
  unit(round: number, account: Address): Promise<DeltaRow | undefined>;
  /** The account's work unit in a round on `dataset` still open, if it holds one. */
  openUnit(account: Address, dataset: string | null): Promise<DeltaRow | undefined>;
  /** Hands `account` a unit of `round` on shard `shardOf(seat)` (seat: the units handed out before it); undefined when the round has no seat left or no longer hands any out. */
  issue(round: number, account: Address, at: number, shardOf: (seat: number) => number): Promise<DeltaRow | undefined>;
  fill(round: number, unit: number, delta: Uint8Array, hash: Hash, at: number): Promise<Fill>;
  /** The round's submitted deltas in arrival order. */
  deltas(round: number): Promise<DeltaRow[]>;
  /**
   * Deltas of the slot's last `rounds` rounds before `beforeRound`, for catching resubmissions. Its
   * own rounds, not round ids: rounds rotate over every expert slot, so a slot's previous round is
   * as many ids back as there are slots.
   */
  recent(slot: string, beforeRound: number, rounds: number): Promise<DeltaRow[]>;
  momentum(slot: string, meta: Hash): Promise<Tensors | null>;
  /** Claims round `id` if given (when no live claim holds it and it is open or appending), else the oldest due round no live claim holds: one query. */
  claim(c: Claim, id?: number): Promise<number | undefined>;
  /** Ends every claim now (the embedded relay at start, whose store lock proves no other judge runs). */
  release(): Promise<void>;
  /**
   * Stores the verdict of an open round and every delta's outcome at once; an accepted round becomes
   * `appending` (its block and the slot's new momentum stored), a rejected one is final. False if
   * the round was already decided (by a judge whose claim this one outlived): nothing is written.
   */
  decide(id: number, d: Decision): Promise<boolean>;
  /** An accepted round whose block the chain refused: rejected after all, and nobody is paid. */
  refuse(id: number, reason: string, at: number): Promise<void>;
  /** Marks an `appending` round accepted and posts its credit, in one transaction; false (nothing posted) if it was not `appending`. */
  pay(id: number, entry: JournalEntry, at: number): Promise<boolean>;
}

/** What the uploaders of the round's dataset are paid (none for a rejected round or one on the meta block's hidden split). */
export const roundUploaders = (r: RoundRow): SourceCredit[] => (r.uploaders === null ? [] : (JSON.parse(r.uploaders) as SourceCredit[]));

/** The due-round condition both stores claim by (parameters: now, openedBy). */
export const DUE = "claimed_until <= ? AND (status = 'appending' OR (status = 'open' AND (claimed_by IS NOT NULL OR filled >= seats OR opened_at <= ?)))";

/** Rounds in accounts.sqlite (the embedded relay). */
export class SqliteRoundStore implements RoundStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly journal: Journal,
  ) {
    this.s = {
      open: db.prepare<[string, string, string, number, number, string, string, number, string | null, string | null]>(
        "INSERT INTO rounds (slot, meta, base, steps, seats, status, seed, commitment, opened_at, dataset, dataset_head) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
      ),
      round: db.prepare<[number], RoundRow>('SELECT * FROM rounds WHERE id = ?'),
      withRoom: db.prepare<[string, string | null], RoundRow>(
        "SELECT * FROM rounds WHERE status = 'open' AND claimed_by IS NULL AND meta = ? AND dataset IS ? AND issued < seats ORDER BY id",
      ),
      lastSlot: db.prepare<[string, string | null], { slot: string }>('SELECT slot FROM rounds WHERE meta = ? AND dataset IS ? ORDER BY id DESC LIMIT 1'),
      unitOf: db.prepare<[number, string], DeltaRow>('SELECT * FROM round_deltas WHERE round = ? AND account = ?'),
      openUnitOf: db.prepare<[string, string | null], DeltaRow>(
        "SELECT d.* FROM round_deltas d JOIN rounds r ON r.id = d.round WHERE d.account = ? AND r.status = 'open' AND r.dataset IS ? ORDER BY d.id DESC LIMIT 1",
      ),
      seat: db.prepare<[number], { issued: number }>("UPDATE rounds SET issued = issued + 1 WHERE id = ? AND status = 'open' AND claimed_by IS NULL AND issued < seats RETURNING issued"),
      issue: db.prepare<[number, string, number, number]>("INSERT INTO round_deltas (round, account, shard, issued_at, status) VALUES (?, ?, ?, ?, 'assigned')"),
      taking: db.prepare<[number], { id: number }>("SELECT id FROM rounds WHERE id = ? AND status = 'open' AND claimed_by IS NULL"),
      fill: db.prepare<[Buffer, string, number, number, number]>("UPDATE round_deltas SET delta = ?, payload_hash = ?, submitted_at = ?, status = 'submitted' WHERE id = ? AND round = ? AND status = 'assigned'"),
      filled: db.prepare<[number]>('UPDATE rounds SET filled = filled + 1 WHERE id = ?'),
      deltas: db.prepare<[number], DeltaRow>("SELECT * FROM round_deltas WHERE round = ? AND status <> 'assigned' ORDER BY submitted_at, id"),
      recent: db.prepare<[string, number, number], DeltaRow>(
        'SELECT * FROM round_deltas WHERE round IN (SELECT id FROM rounds WHERE slot = ? AND id < ? ORDER BY id DESC LIMIT ?) AND delta IS NOT NULL ORDER BY id',
      ),
      claimDue: db.prepare<[string, number, number, number], { id: number }>(
        `UPDATE rounds SET claimed_by = ?, claimed_until = ? WHERE id = (SELECT id FROM rounds WHERE ${DUE} ORDER BY id LIMIT 1) RETURNING id`,
      ),
      claimOne: db.prepare<[string, number, number, number], { id: number }>(
        "UPDATE rounds SET claimed_by = ?, claimed_until = ? WHERE id = ? AND claimed_until <= ? AND status IN ('open', 'appending') RETURNING id",
      ),
      release: db.prepare('UPDATE rounds SET claimed_until = 0 WHERE claimed_until > 0'),
      outcome: db.prepare<[string, number | null, number, number, number, number]>('UPDATE round_deltas SET status = ?, copy_of = ?, before = ?, after = ?, credit = ? WHERE id = ?'),
      decide: db.prepare<
        [RoundStatus, string | null, number, string | null, string | null, Buffer | null, string | null, number | null, number | null, number | null, number | null, number | null, number | null, string | null, number]
      >(
        "UPDATE rounds SET status = ?, reason = ?, decided_at = ?, block = ?, header = ?, payload = ?, verdict = ?, improvement = ?, lower = ?, pool = ?, genesis_change = ?, genesis_lower = ?, genesis_bound = ?, uploaders = ? WHERE id = ? AND status = 'open'",
      ),
      refuse: db.prepare<[string, number, number]>("UPDATE rounds SET status = 'rejected', reason = ?, decided_at = ?, pool = 0, uploaders = NULL WHERE id = ? AND status = 'appending'"),
      unpay: db.prepare<[number]>('UPDATE round_deltas SET credit = 0 WHERE round = ?'),
      finish: db.prepare<[number, number]>("UPDATE rounds SET status = 'accepted', decided_at = ? WHERE id = ? AND status = 'appending'"),
      momentum: db.prepare<[string, string], { momentum: Buffer }>('SELECT momentum FROM round_momentum WHERE slot = ? AND meta = ?'),
      saveMomentum: db.prepare<[string, string, Buffer]>('INSERT INTO round_momentum (slot, meta, momentum) VALUES (?, ?, ?) ON CONFLICT (slot) DO UPDATE SET meta = excluded.meta, momentum = excluded.momentum'),
    };
  }

  async open(r: Parameters<RoundStore['open']>[0]): Promise<number> {
    return Number(this.s.open.run(r.slot, r.meta, r.base, r.steps, r.seats, r.seed, r.commitment, r.at, r.dataset, r.datasetHead).lastInsertRowid);
  }

  async round(id: number): Promise<RoundRow | undefined> {
    return this.s.round.get(id);
  }

  async withRoom(meta: Hash, dataset: string | null): Promise<RoundRow[]> {
    return this.s.withRoom.all(meta, dataset);
  }

  async lastSlot(meta: Hash, dataset: string | null): Promise<string | null> {
    return this.s.lastSlot.get(meta, dataset)?.slot ?? null;
  }

  async unit(round: number, account: Address): Promise<DeltaRow | undefined> {
    return this.s.unitOf.get(round, account);
  }

  async openUnit(account: Address, dataset: string | null): Promise<DeltaRow | undefined> {
    return this.s.openUnitOf.get(account, dataset);
  }

  async issue(round: number, account: Address, at: number, shardOf: (seat: number) => number): Promise<DeltaRow | undefined> {
    const issued = this.db.transaction(() => {
      const seat = this.s.seat.get(round);
      if (seat === undefined) return false;
      this.s.issue.run(round, account, shardOf(seat.issued - 1), at);
      return true;
    })();
    return issued ? this.s.unitOf.get(round, account) : undefined;
  }

  async fill(round: number, unit: number, delta: Uint8Array, hash: Hash, at: number): Promise<Fill> {
    return this.db.transaction((): Fill => {
      if (this.s.taking.get(round) === undefined) return 'round_closed';
      if (this.s.fill.run(Buffer.from(delta), hash, at, unit, round).changes !== 1) return 'already_submitted';
      this.s.filled.run(round);
      return 'stored';
    })();
  }

  async deltas(round: number): Promise<DeltaRow[]> {
    return this.s.deltas.all(round);
  }

  async recent(slot: string, beforeRound: number, rounds: number): Promise<DeltaRow[]> {
    return this.s.recent.all(slot, beforeRound, rounds);
  }

  async momentum(slot: string, meta: Hash): Promise<Tensors | null> {
    const row = this.s.momentum.get(slot, meta);
    return row === undefined ? null : decodeMomentum(row.momentum);
  }

  async claim(c: Claim, id?: number): Promise<number | undefined> {
    const row = id === undefined ? this.s.claimDue.get(c.by, c.now + c.leaseMs, c.now, c.openedBy) : this.s.claimOne.get(c.by, c.now + c.leaseMs, id, c.now);
    return row?.id;
  }

  async release(): Promise<void> {
    this.s.release.run();
  }

  async decide(id: number, d: Decision): Promise<boolean> {
    return this.db.transaction(() => {
      const decided = this.s.decide.run(d.accepted ? 'appending' : 'rejected', d.reason, d.at, d.block, d.header, d.payload === null ? null : Buffer.from(d.payload), d.verdict, d.improvement, d.lower, d.accepted ? d.pool : 0, d.genesis?.change ?? null, d.genesis?.lower ?? null, d.genesis?.bound ?? null, d.accepted && d.uploaders.length > 0 ? JSON.stringify(d.uploaders) : null, id);
      if (decided.changes !== 1) return false;
      for (const o of d.outcomes) this.s.outcome.run(o.status, o.copyOf, o.before, o.after, d.accepted ? o.credit : 0, o.id);
      if (d.accepted && d.momentum !== null) this.s.saveMomentum.run(d.momentum.slot, d.momentum.meta, Buffer.from(encodeMomentum(d.momentum.state)));
      return true;
    })();
  }

  async refuse(id: number, reason: string, at: number): Promise<void> {
    this.db.transaction(() => {
      if (this.s.refuse.run(reason, at, id).changes === 1) this.s.unpay.run(id);
    })();
  }

  async pay(id: number, entry: JournalEntry, at: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.s.finish.run(at, id).changes !== 1) return false;
      this.journal.post(entry);
      return true;
    })();
  }
}

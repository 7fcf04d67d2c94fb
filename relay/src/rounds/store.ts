import { type Address, type Hash, decodeTensors, encodeTensors } from '@blyan/block';
import type { Tensors } from '@blyan/rounds';
import type Database from 'better-sqlite3';

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
const encodeMomentum = (m: Tensors): Uint8Array =>
  encodeTensors(Object.fromEntries(Object.entries(m).map(([name, data]) => [name, { dtype: 'f32' as const, shape: [data.length], data }])));

function decodeMomentum(bytes: Uint8Array): Tensors {
  const { tensors } = decodeTensors(bytes);
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.data as Float32Array]));
}

/**
 * Rounds and their work units in accounts.sqlite: a round opens on a slot's head with a committed
 * sample seed; each work unit is a `round_deltas` row (account, shard) until the account's delta
 * fills it; judging stores every delta's outcome and the round's verdict in one transaction.
 */
export class RoundStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      open: db.prepare<[string, string, string, number, string, string, number, string | null, string | null]>(
        "INSERT INTO rounds (slot, meta, base, steps, status, seed, commitment, opened_at, dataset, dataset_head) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
      ),
      round: db.prepare<[number], RoundRow>('SELECT * FROM rounds WHERE id = ?'),
      openRounds: db.prepare<[string, string | null], RoundRow>("SELECT * FROM rounds WHERE status = 'open' AND meta = ? AND dataset IS ? ORDER BY id"),
      allOpen: db.prepare<[], RoundRow>("SELECT * FROM rounds WHERE status = 'open' ORDER BY id"),
      byStatus: db.prepare<[RoundStatus], { id: number }>('SELECT id FROM rounds WHERE status = ? ORDER BY id'),
      unitCount: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM round_deltas WHERE round = ?'),
      filledCount: db.prepare<[number], { n: number }>("SELECT COUNT(*) AS n FROM round_deltas WHERE round = ? AND status <> 'assigned'"),
      due: db.prepare<[number], { id: number }>("SELECT id FROM rounds WHERE status = 'open' AND opened_at <= ? ORDER BY id"),
      unitOf: db.prepare<[number, string], DeltaRow>('SELECT * FROM round_deltas WHERE round = ? AND account = ?'),
      openUnitOf: db.prepare<[string, string | null], DeltaRow>(
        "SELECT d.* FROM round_deltas d JOIN rounds r ON r.id = d.round WHERE d.account = ? AND r.status = 'open' AND r.dataset IS ? ORDER BY d.id DESC LIMIT 1",
      ),
      issue: db.prepare<[number, string, number, number]>("INSERT INTO round_deltas (round, account, shard, issued_at, status) VALUES (?, ?, ?, ?, 'assigned')"),
      fill: db.prepare<[Buffer, string, number, number]>("UPDATE round_deltas SET delta = ?, payload_hash = ?, submitted_at = ?, status = 'submitted' WHERE id = ? AND status = 'assigned'"),
      deltas: db.prepare<[number], DeltaRow>("SELECT * FROM round_deltas WHERE round = ? AND status <> 'assigned' ORDER BY submitted_at, id"),
      recent: db.prepare<[string, number, number], DeltaRow>(
        'SELECT * FROM round_deltas WHERE round IN (SELECT id FROM rounds WHERE slot = ? AND id < ? ORDER BY id DESC LIMIT ?) AND delta IS NOT NULL ORDER BY id',
      ),
      outcome: db.prepare<[string, number | null, number, number, number, number]>('UPDATE round_deltas SET status = ?, copy_of = ?, before = ?, after = ?, credit = ? WHERE id = ?'),
      decide: db.prepare<
        [RoundStatus, string | null, number, string | null, string | null, Buffer | null, string | null, number | null, number | null, number | null, number | null, number | null, number | null, string | null, number]
      >(
        'UPDATE rounds SET status = ?, reason = ?, decided_at = ?, block = ?, header = ?, payload = ?, verdict = ?, improvement = ?, lower = ?, pool = ?, genesis_change = ?, genesis_lower = ?, genesis_bound = ?, uploaders = ? WHERE id = ?',
      ),
      refuse: db.prepare<[string, number, number]>("UPDATE rounds SET status = 'rejected', reason = ?, decided_at = ?, pool = 0 WHERE id = ? AND status = 'appending'"),
      unpay: db.prepare<[number]>('UPDATE round_deltas SET credit = 0 WHERE round = ?'),
      unpaySources: db.prepare<[number]>('UPDATE rounds SET uploaders = NULL WHERE id = ?'),
      finish: db.prepare<[number, number]>("UPDATE rounds SET status = 'accepted', decided_at = ? WHERE id = ? AND status = 'appending'"),
      momentum: db.prepare<[string, string], { momentum: Buffer }>('SELECT momentum FROM round_momentum WHERE slot = ? AND meta = ?'),
      saveMomentum: db.prepare<[string, string, Buffer]>('INSERT INTO round_momentum (slot, meta, momentum) VALUES (?, ?, ?) ON CONFLICT (slot) DO UPDATE SET meta = excluded.meta, momentum = excluded.momentum'),
    };
  }

  open(r: { slot: string; meta: Hash; base: Hash; steps: number; seed: Hash; commitment: Hash; at: number; dataset: string | null; datasetHead: Hash | null }): number {
    return Number(this.s.open.run(r.slot, r.meta, r.base, r.steps, r.seed, r.commitment, r.at, r.dataset, r.datasetHead).lastInsertRowid);
  }

  round(id: number): RoundRow | undefined {
    return this.s.round.get(id);
  }

  /** Open rounds under `meta` on `dataset` (null: on the meta block's hidden split). */
  openRounds(meta: Hash, dataset: string | null): RoundRow[] {
    return this.s.openRounds.all(meta, dataset);
  }

  /** Every open round, under any meta block. */
  allOpen(): RoundRow[] {
    return this.s.allOpen.all();
  }

  withStatus(status: RoundStatus): number[] {
    return this.s.byStatus.all(status).map((r) => r.id);
  }

  units(round: number): number {
    return this.s.unitCount.get(round)!.n;
  }

  /** Work units of the round that hold their delta. */
  filled(round: number): number {
    return this.s.filledCount.get(round)!.n;
  }

  /** Open rounds opened at or before `openedBy`. */
  due(openedBy: number): number[] {
    return this.s.due.all(openedBy).map((r) => r.id);
  }

  unit(round: number, account: Address): DeltaRow | undefined {
    return this.s.unitOf.get(round, account);
  }

  /** The account's work unit in a round on `dataset` still open, if it holds one. */
  openUnit(account: Address, dataset: string | null): DeltaRow | undefined {
    return this.s.openUnitOf.get(account, dataset);
  }

  issue(round: number, account: Address, shard: number, at: number): DeltaRow {
    this.s.issue.run(round, account, shard, at);
    return this.unit(round, account)!;
  }

  /** Fills the work unit with its delta; false if it already holds one. */
  fill(unit: number, delta: Uint8Array, hash: Hash, at: number): boolean {
    return this.s.fill.run(Buffer.from(delta), hash, at, unit).changes === 1;
  }

  /** The round's submitted deltas in arrival order. */
  deltas(round: number): DeltaRow[] {
    return this.s.deltas.all(round);
  }

  /**
   * Deltas of the slot's last `rounds` rounds before `beforeRound`, for catching resubmissions. Its
   * own rounds, not round ids: rounds rotate over every expert slot, so a slot's previous round is
   * as many ids back as there are slots.
   */
  recent(slot: string, beforeRound: number, rounds: number): DeltaRow[] {
    return this.s.recent.all(slot, beforeRound, rounds);
  }

  momentum(slot: string, meta: Hash): Tensors | null {
    const row = this.s.momentum.get(slot, meta);
    return row === undefined ? null : decodeMomentum(row.momentum);
  }

  /**
   * Stores the verdict of a round and every delta's outcome at once; an accepted round becomes
   * `appending` (its block and the slot's new momentum stored), a rejected one is final.
   */
  decide(
    id: number,
    d: {
      accepted: boolean;
      reason: string | null;
      at: number;
      block: Hash | null;
      header: string | null;
      payload: Uint8Array | null;
      verdict: string | null;
      improvement: number | null;
      lower: number | null;
      pool: number | null;
      genesis: { change: number; lower: number; bound: number } | null;
      uploaders: readonly SourceCredit[];
      outcomes: readonly DeltaOutcome[];
      momentum: { slot: string; meta: Hash; state: Tensors } | null;
    },
  ): void {
    this.db.transaction(() => {
      for (const o of d.outcomes) this.s.outcome.run(o.status, o.copyOf, o.before, o.after, d.accepted ? o.credit : 0, o.id);
      this.s.decide.run(d.accepted ? 'appending' : 'rejected', d.reason, d.at, d.block, d.header, d.payload === null ? null : Buffer.from(d.payload), d.verdict, d.improvement, d.lower, d.accepted ? d.pool : 0, d.genesis?.change ?? null, d.genesis?.lower ?? null, d.genesis?.bound ?? null, d.accepted && d.uploaders.length > 0 ? JSON.stringify(d.uploaders) : null, id);
      if (d.accepted && d.momentum !== null) this.s.saveMomentum.run(d.momentum.slot, d.momentum.meta, Buffer.from(encodeMomentum(d.momentum.state)));
    })();
  }

  /** An accepted round whose block the chain refused: rejected after all, and nobody is paid. */
  refuse(id: number, reason: string, at: number): void {
    this.db.transaction(() => {
      this.s.refuse.run(reason, at, id);
      this.s.unpay.run(id);
      this.s.unpaySources.run(id);
    })();
  }

  /** What the uploaders of the round's dataset are paid (none for a rejected round or one on the meta block's hidden split). */
  uploaders(r: RoundRow): SourceCredit[] {
    return r.uploaders === null ? [] : (JSON.parse(r.uploaders) as SourceCredit[]);
  }

  /** Marks an appended round accepted; false if it was not `appending`. */
  finish(id: number, at: number): boolean {
    return this.s.finish.run(at, id).changes === 1;
  }
}

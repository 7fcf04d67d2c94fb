import type { Address, Hash } from '@blyan/block';
import type { Tensors } from '@blyan/rounds';
import type pg from 'pg';
import type { JournalEntry } from '../rewards/journal.ts';
import { PgJournal } from '../rewards/pg-journal.ts';
import { inTransaction } from '../store/pg-pool.ts';
import { type Claim, DUE, type Decision, type DeltaRow, type Fill, type RoundRow, type RoundStore, decodeMomentum, encodeMomentum } from './store.ts';

/** `?` placeholders numbered from `from` as PostgreSQL's $n. */
const numbered = (sql: string, from: number) => {
  let n = from;
  return sql.replace(/\?/g, () => `$${n++}`);
};

/**
 * Rounds on PostgreSQL, shared by relay replicas (which hand out units and take deltas) and
 * `blyan worker` processes (which judge). A round's unit count and fill count live on its row and
 * change under its row lock, so two replicas never hand out more units than a round has room for,
 * and a delta is stored only while its round is unclaimed (a claim waits for a fill in flight, or
 * skips the round until it commits). Judges claim due rounds with FOR UPDATE SKIP LOCKED and a
 * lease, like contributions. The database holds the rules too (pg-schema.ts, migration 4): the
 * seed's commitment is checked, the seed and the verdict are never replaced, a decided round never
 * changes, a unit is filled once and only while its round takes deltas, and the round's credit is
 * one journal entry (kind, ref).
 */
export class PgRoundStore implements RoundStore {
  constructor(private readonly pool: pg.Pool) {}

  private async one<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.pool.query<T>(sql, params)).rows[0];
  }

  async open(r: Parameters<RoundStore['open']>[0]): Promise<number> {
    const row = await this.one<{ id: number }>(
      "INSERT INTO rounds (slot, meta, base, steps, seats, status, seed, commitment, opened_at, dataset, dataset_head) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10) RETURNING id",
      [r.slot, r.meta, r.base, r.steps, r.seats, r.seed, r.commitment, r.at, r.dataset, r.datasetHead],
    );
    return row!.id;
  }

  round(id: number): Promise<RoundRow | undefined> {
    return this.one<RoundRow>('SELECT * FROM rounds WHERE id = $1', [id]);
  }

  async withRoom(meta: Hash, dataset: string | null): Promise<RoundRow[]> {
    const sql = "SELECT * FROM rounds WHERE status = 'open' AND claimed_by IS NULL AND meta = $1 AND dataset IS NOT DISTINCT FROM $2 AND issued < seats ORDER BY id";
    return (await this.pool.query<RoundRow>(sql, [meta, dataset])).rows;
  }

  async lastSlot(meta: Hash, dataset: string | null): Promise<string | null> {
    return (await this.one<{ slot: string }>('SELECT slot FROM rounds WHERE meta = $1 AND dataset IS NOT DISTINCT FROM $2 ORDER BY id DESC LIMIT 1', [meta, dataset]))?.slot ?? null;
  }

  unit(round: number, account: Address): Promise<DeltaRow | undefined> {
    return this.one<DeltaRow>('SELECT * FROM round_deltas WHERE round = $1 AND account = $2', [round, account]);
  }

  openUnit(account: Address, dataset: string | null): Promise<DeltaRow | undefined> {
    return this.one<DeltaRow>(
      "SELECT d.* FROM round_deltas d JOIN rounds r ON r.id = d.round WHERE d.account = $1 AND r.status = 'open' AND r.dataset IS NOT DISTINCT FROM $2 ORDER BY d.id DESC LIMIT 1",
      [account, dataset],
    );
  }

  async issue(round: number, account: Address, at: number, shardOf: (seat: number) => number): Promise<DeltaRow | undefined> {
    return inTransaction(this.pool, async (q) => {
      const seat = (await q.query<{ issued: number }>("UPDATE rounds SET issued = issued + 1 WHERE id = $1 AND status = 'open' AND claimed_by IS NULL AND issued < seats RETURNING issued", [round])).rows[0];
      if (seat === undefined) return undefined;
      const { rows } = await q.query<DeltaRow>("INSERT INTO round_deltas (round, account, shard, issued_at, status) VALUES ($1, $2, $3, $4, 'assigned') RETURNING *", [
        round,
        account,
        shardOf(seat.issued - 1),
        at,
      ]);
      return rows[0];
    });
  }

  fill(round: number, unit: number, delta: Uint8Array, hash: Hash, at: number): Promise<Fill> {
    return inTransaction(this.pool, async (q): Promise<Fill> => {
      const taking = await q.query("SELECT id FROM rounds WHERE id = $1 AND status = 'open' AND claimed_by IS NULL FOR UPDATE", [round]);
      if (taking.rowCount !== 1) return 'round_closed';
      const filled = await q.query("UPDATE round_deltas SET delta = $1, payload_hash = $2, submitted_at = $3, status = 'submitted' WHERE id = $4 AND round = $5 AND status = 'assigned'", [
        Buffer.from(delta),
        hash,
        at,
        unit,
        round,
      ]);
      if (filled.rowCount !== 1) return 'already_submitted';
      await q.query('UPDATE rounds SET filled = filled + 1 WHERE id = $1', [round]);
      return 'stored';
    });
  }

  async deltas(round: number): Promise<DeltaRow[]> {
    return (await this.pool.query<DeltaRow>("SELECT * FROM round_deltas WHERE round = $1 AND status <> 'assigned' ORDER BY submitted_at, id", [round])).rows;
  }

  async recent(slot: string, beforeRound: number, rounds: number): Promise<DeltaRow[]> {
    const sql = 'SELECT * FROM round_deltas WHERE round IN (SELECT id FROM rounds WHERE slot = $1 AND id < $2 ORDER BY id DESC LIMIT $3) AND delta IS NOT NULL ORDER BY id';
    return (await this.pool.query<DeltaRow>(sql, [slot, beforeRound, rounds])).rows;
  }

  async momentum(slot: string, meta: Hash): Promise<Tensors | null> {
    const row = await this.one<{ momentum: Buffer }>('SELECT momentum FROM round_momentum WHERE slot = $1 AND meta = $2', [slot, meta]);
    return row === undefined ? null : decodeMomentum(row.momentum);
  }

  async claim(c: Claim, id?: number): Promise<number | undefined> {
    const row =
      id === undefined
        ? await this.one<{ id: number }>(
            `UPDATE rounds SET claimed_by = $1, claimed_until = $2 WHERE id = (SELECT id FROM rounds WHERE ${numbered(DUE, 3)} ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id`,
            [c.by, c.now + c.leaseMs, c.now, c.openedBy],
          )
        : await this.one<{ id: number }>("UPDATE rounds SET claimed_by = $1, claimed_until = $2 WHERE id = $3 AND claimed_until <= $4 AND status IN ('open', 'appending') RETURNING id", [
            c.by,
            c.now + c.leaseMs,
            id,
            c.now,
          ]);
    return row?.id;
  }

  async release(): Promise<void> {
    await this.pool.query("UPDATE rounds SET claimed_until = 0 WHERE claimed_until > 0 AND status IN ('open', 'appending')");
  }

  decide(id: number, d: Decision): Promise<boolean> {
    return inTransaction(this.pool, async (q) => {
      const decided = await q.query(
        `UPDATE rounds SET status = $1, reason = $2, decided_at = $3, block = $4, header = $5, payload = $6, verdict = $7, improvement = $8, lower = $9, pool = $10,
         genesis_change = $11, genesis_lower = $12, genesis_bound = $13, uploaders = $14 WHERE id = $15 AND status = 'open'`,
        [
          d.accepted ? 'appending' : 'rejected',
          d.reason,
          d.at,
          d.block,
          d.header,
          d.payload === null ? null : Buffer.from(d.payload),
          d.verdict,
          d.improvement,
          d.lower,
          d.accepted ? d.pool : 0,
          d.genesis?.change ?? null,
          d.genesis?.lower ?? null,
          d.genesis?.bound ?? null,
          d.accepted && d.uploaders.length > 0 ? JSON.stringify(d.uploaders) : null,
          id,
        ],
      );
      if (decided.rowCount !== 1) return false;
      for (const o of d.outcomes) {
        await q.query('UPDATE round_deltas SET status = $1, copy_of = $2, before = $3, after = $4, credit = $5 WHERE id = $6', [o.status, o.copyOf, o.before, o.after, d.accepted ? o.credit : 0, o.id]);
      }
      if (d.accepted && d.momentum !== null) {
        await q.query('INSERT INTO round_momentum (slot, meta, momentum) VALUES ($1, $2, $3) ON CONFLICT (slot) DO UPDATE SET meta = EXCLUDED.meta, momentum = EXCLUDED.momentum', [
          d.momentum.slot,
          d.momentum.meta,
          Buffer.from(encodeMomentum(d.momentum.state)),
        ]);
      }
      return true;
    });
  }

  async refuse(id: number, reason: string, at: number): Promise<void> {
    await inTransaction(this.pool, async (q) => {
      const refused = await q.query("UPDATE rounds SET status = 'rejected', reason = $1, decided_at = $2, pool = 0, uploaders = NULL WHERE id = $3 AND status = 'appending'", [reason, at, id]);
      if (refused.rowCount === 1) await q.query('UPDATE round_deltas SET credit = 0 WHERE round = $1', [id]);
    });
  }

  pay(id: number, entry: JournalEntry, at: number): Promise<boolean> {
    return inTransaction(this.pool, async (q) => {
      const finished = await q.query("UPDATE rounds SET status = 'accepted', decided_at = $1 WHERE id = $2 AND status = 'appending'", [at, id]);
      if (finished.rowCount !== 1) return false;
      await PgJournal.post(q, entry, at);
      return true;
    });
  }
}

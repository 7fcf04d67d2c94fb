import { createHash } from 'node:crypto';
import type { Address, Hash } from '@blyan/block';
import type { Doc } from '@blyan/model/data';
import type Database from 'better-sqlite3';
import type pg from 'pg';

export interface Shard {
  readonly index: number;
  readonly of: number;
  /** Positions in the train split (documents sorted by id), end exclusive. */
  readonly docs: { readonly from: number; readonly to: number };
  /** SHA-256 of the shard's GET /v1/shards/:index body, so the client can check what it trains on. */
  readonly sha256: string;
}

export interface Assignment {
  readonly meta: Hash;
  readonly slot: string;
  /** The slot's current head: the base the delta must be built against. */
  readonly base: Hash;
  readonly reason: 'hot' | 'round_robin';
  readonly shard: Shard;
}

/** A shard's documents and its body as served (UTF-8 JSON); sha256 is over these bytes. */
export function shardBody(docs: readonly Pick<Doc, 'id' | 'text'>[], index: number, size: number): { body: Uint8Array; shard: Shard } {
  const of = Math.ceil(docs.length / size);
  const from = index * size;
  const to = Math.min(docs.length, from + size);
  const body = new TextEncoder().encode(JSON.stringify({ index, of, docs: docs.slice(from, to).map((d) => ({ id: d.id, text: d.text })) }));
  return { body, shard: { index, of, docs: { from, to }, sha256: createHash('sha256').update(body).digest('hex') } };
}

/** An account's assignment as stored: which slot and shard it is to train, under which meta block, until when. */
export interface Assigned {
  readonly meta: Hash;
  readonly slot: string;
  readonly shard: number;
  readonly reason: Assignment['reason'];
  readonly expires_at: number;
}

/** Where assignments are kept, and which slots were used lately (hot). */
export interface AssignmentRows {
  live(account: Address, meta: Hash, now: number): Promise<Assigned | undefined>;
  save(account: Address, a: Assigned): Promise<void>;
  /** Up to 8 slots with usage since `since`, hottest first. */
  hot(since: number): Promise<string[]>;
}

/** Assignments in accounts.sqlite; hot slots from its usage reports. */
export class SqliteAssignments implements AssignmentRows {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      hot: db.prepare<[number], { slot: string; tokens: number }>(
        'SELECT slot, SUM(tokens) AS tokens FROM usage WHERE at > ? GROUP BY slot ORDER BY tokens DESC, slot LIMIT 8',
      ),
      live: db.prepare<[string, string, number], Assigned>('SELECT meta, slot, shard, reason, expires_at FROM assignments WHERE account = ? AND meta = ? AND expires_at > ?'),
      save: db.prepare('INSERT OR REPLACE INTO assignments (account, meta, slot, shard, reason, expires_at) VALUES (@account, @meta, @slot, @shard, @reason, @expires_at)'),
    };
  }

  async live(account: Address, meta: Hash, now: number): Promise<Assigned | undefined> {
    return this.s.live.get(account, meta, now);
  }

  async save(account: Address, a: Assigned): Promise<void> {
    this.s.save.run({ account, ...a });
  }

  async hot(since: number): Promise<string[]> {
    return this.s.hot.all(since).map((r) => r.slot);
  }
}

/** Assignments on PostgreSQL, shared by replicas; hot slots from the usage reports every replica records there. */
export class PgAssignments implements AssignmentRows {
  constructor(private readonly pool: pg.Pool) {}

  async live(account: Address, meta: Hash, now: number): Promise<Assigned | undefined> {
    return (await this.pool.query<Assigned>('SELECT meta, slot, shard, reason, expires_at FROM assignments WHERE account = $1 AND meta = $2 AND expires_at > $3', [account, meta, now])).rows[0];
  }

  async save(account: Address, a: Assigned): Promise<void> {
    await this.pool.query(
      `INSERT INTO assignments (account, meta, slot, shard, reason, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account) DO UPDATE SET meta = EXCLUDED.meta, slot = EXCLUDED.slot, shard = EXCLUDED.shard, reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at`,
      [account, a.meta, a.slot, a.shard, a.reason, a.expires_at],
    );
  }

  async hot(since: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ slot: string }>('SELECT slot FROM usage WHERE at > $1 GROUP BY slot ORDER BY SUM(tokens) DESC, slot LIMIT 8', [since]);
    return rows.map((r) => r.slot);
  }
}

/**
 * Which expert to train next: the slots with usage in the last `hotWindowMs`, hottest first,
 * take turns; with no usage every expert slot takes a turn (round robin). Shards of the train
 * split go round in turn too. An assignment stays the account's own until it expires or a
 * contribution on it is queued (ContributionStore.add uses it up), so asking again does not shop
 * for another slot. The turn counters live in memory: a restart starts them over, which only
 * changes who trains what first.
 */
export class Assigner {
  private turn = 0;
  private shardTurn = 0;

  constructor(private readonly rows: AssignmentRows) {}

  /** The account's live assignment under `meta`, or the next turn's, kept until `now + ttlMs`. */
  async assign(account: Address, meta: Hash, expertSlots: readonly string[], o: { hotSince: number; shardCount: number; now: number; ttlMs: number }): Promise<Assigned> {
    const live = await this.rows.live(account, meta, o.now);
    if (live !== undefined && expertSlots.includes(live.slot) && live.shard < o.shardCount) return live;
    const hot = (await this.rows.hot(o.hotSince)).filter((s) => expertSlots.includes(s));
    const pool = hot.length > 0 ? hot : expertSlots;
    const next: Assigned = { meta, slot: pool[this.turn++ % pool.length]!, shard: this.shardTurn++ % o.shardCount, reason: hot.length > 0 ? 'hot' : 'round_robin', expires_at: o.now + o.ttlMs };
    await this.rows.save(account, next);
    return next;
  }
}

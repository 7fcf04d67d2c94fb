import { createHash } from 'node:crypto';
import type { Hash } from '@blyan/block';
import type { Doc } from '@blyan/model/data';
import type Database from 'better-sqlite3';

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
export function shardBody(docs: readonly Doc[], index: number, size: number): { body: Uint8Array; shard: Shard } {
  const of = Math.ceil(docs.length / size);
  const from = index * size;
  const to = Math.min(docs.length, from + size);
  const body = new TextEncoder().encode(JSON.stringify({ index, of, docs: docs.slice(from, to).map((d) => ({ id: d.id, text: d.text })) }));
  return { body, shard: { index, of, docs: { from, to }, sha256: createHash('sha256').update(body).digest('hex') } };
}

/**
 * Which expert to train next: the slots with usage in the last `hotWindowMs`, hottest first,
 * take turns; with no usage every expert slot takes a turn (round robin). Shards of the train
 * split go round in turn too. The turn counters live in memory: a restart starts them over,
 * which only changes who trains what first.
 */
export class Assigner {
  private turn = 0;
  private shardTurn = 0;
  private readonly hot;

  constructor(db: Database.Database) {
    this.hot = db.prepare<[number], { slot: string; tokens: number }>(
      'SELECT slot, SUM(tokens) AS tokens FROM usage WHERE at > ? GROUP BY slot ORDER BY tokens DESC, slot LIMIT 8',
    );
  }

  next(meta: Hash, heads: Readonly<Record<string, Hash>>, expertSlots: readonly string[], since: number, shardCount: number): Omit<Assignment, 'shard'> & { shard: number } {
    const hot = this.hot.all(since).map((r) => r.slot).filter((s) => heads[s] !== undefined && expertSlots.includes(s));
    const pool = hot.length > 0 ? hot : expertSlots;
    const slot = pool[this.turn++ % pool.length]!;
    return { meta, slot, base: heads[slot]!, reason: hot.length > 0 ? 'hot' : 'round_robin', shard: this.shardTurn++ % shardCount };
  }
}

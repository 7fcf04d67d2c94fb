import { type Shard, shardBody } from '../contributions/assignment.ts';
import type { TrainDoc } from './target.ts';

/** What a work unit on a dataset rehearses: a shard of the meta block's train split, and the share of its micro-steps that train on it. */
export interface UnitReplay {
  /** Share of the unit's micro-steps on the replay shard, interleaved evenly with its own shard's (apps/web/src/contribute/batches.ts, ReplayBatches). */
  readonly fraction: number;
  readonly shard: Shard & { readonly split: 'train'; readonly url: string };
}

/** A replay fraction is at least 0 (no replay) and below 1 (a unit trains on its own shard at all); anything else is refused with this message. */
export function replayFractionError(fraction: number): string | null {
  return fraction >= 0 && fraction < 1 ? null : `a replay fraction is at least 0 and below 1, got ${fraction}`;
}

/**
 * The replay of work unit `unit` (its row id) at `fraction`: shard `unit mod shards` of the train
 * split `docs` (served at `url(index)`), so the relay alone decides it from what it stores and
 * successive units rehearse different shards. Null at fraction 0 or with no train split.
 */
export function unitReplay(fraction: number, unit: number, docs: readonly TrainDoc[], shardDocs: number, url: (index: number) => string): UnitReplay | null {
  const error = replayFractionError(fraction);
  if (error !== null) throw new Error(error);
  if (fraction === 0 || docs.length === 0) return null;
  const index = unit % Math.ceil(docs.length / shardDocs);
  return { fraction, shard: { ...shardBody(docs, index, shardDocs).shard, split: 'train', url: url(index) } };
}

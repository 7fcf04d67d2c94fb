import type { Hash } from '@blyan/block';
import { type Tensors, cosine } from './tensors.ts';

/** One contributor's update in a round: its change to the slot and its own score. */
export interface Submission {
  readonly id: string;
  readonly author: string;
  /** SHA-256 of the submitted delta's bytes. */
  readonly hash: Hash;
  readonly change: Tensors;
  /** Mean loss (nats/token) on a relay-held sample of the contributor's shard, base and base + change. */
  readonly before: number;
  readonly after: number;
}

/** An update seen before (earlier in the round or in an earlier round of the slot). */
export interface Seen {
  readonly id: string;
  readonly hash: Hash;
  readonly change: Tensors;
}

export interface ScreenOptions {
  /** A change whose cosine similarity to one seen before exceeds this is a copy (e.g. 0.99). */
  readonly maxCosine: number;
  /** A change must lower its own sample's loss by more than this to be kept (0: anything that does not hurt). */
  readonly minImprovement: number;
}

export type Screened =
  | { readonly id: string; readonly author: string; readonly improvement: number; readonly status: 'kept' }
  | { readonly id: string; readonly author: string; readonly improvement: number; readonly status: 'hurt' }
  | { readonly id: string; readonly author: string; readonly improvement: number; readonly status: 'copy'; readonly copyOf: string };

/**
 * Each submission of a round, in arrival order, scored on its own: a copy of an update seen
 * before (the same delta bytes, or a change pointing the same way, cosine > maxCosine) earns
 * nothing, whatever its score; a change that does not lower its own sample's loss by more than
 * minImprovement is dropped; the rest are kept. The earlier of two copies keeps its place.
 */
export function screen(round: readonly Submission[], earlier: readonly Seen[], o: ScreenOptions): Screened[] {
  const seen: Seen[] = [...earlier];
  return round.map((s) => {
    const improvement = s.before - s.after;
    const original = seen.find((e) => e.hash === s.hash || cosine(e.change, s.change) > o.maxCosine);
    seen.push(s);
    const head = { id: s.id, author: s.author, improvement };
    if (original !== undefined) return { ...head, status: 'copy', copyOf: original.id };
    return Number.isFinite(improvement) && improvement > o.minImprovement ? { ...head, status: 'kept' } : { ...head, status: 'hurt' };
  });
}

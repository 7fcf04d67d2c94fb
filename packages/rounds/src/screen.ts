import type { Hash } from '@blyan/block';
import { type PairedTestOptions, pairedTest } from './paired.ts';
import { type Tensors, cosine } from './tensors.ts';

/** One contributor's update in a round: its change to the slot and its own score. */
export interface Submission {
  readonly id: string;
  readonly author: string;
  /** SHA-256 of the submitted delta's bytes. */
  readonly hash: Hash;
  readonly change: Tensors;
  /** Per-window losses (nats/token) on a relay-held sample of the contributor's shard, base and base + change. */
  readonly before: readonly number[];
  readonly after: readonly number[];
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
  /**
   * The paired test a change must pass on its own sample to be kept: the lower confidence bound of
   * its mean per-window improvement above the margin. A change that does nothing (noise) then
   * passes only at the test's error rate, instead of whenever its sample happens to favour it.
   */
  readonly own: PairedTestOptions;
}

export type Screened =
  | { readonly id: string; readonly author: string; readonly improvement: number; readonly status: 'kept' }
  | { readonly id: string; readonly author: string; readonly improvement: number; readonly status: 'hurt' }
  | { readonly id: string; readonly author: string; readonly improvement: number; readonly status: 'copy'; readonly copyOf: string };

/**
 * Each submission of a round, in arrival order, scored on its own: a copy of an update seen
 * before (the same delta bytes, or a change pointing the same way, cosine > maxCosine) earns
 * nothing, whatever its score; a change that does not pass the paired test on its own sample
 * (`own`) is dropped; the rest are kept. `improvement` is the mean per-window improvement. The
 * earlier of two copies keeps its place.
 */
export function screen(round: readonly Submission[], earlier: readonly Seen[], o: ScreenOptions): Screened[] {
  const seen: Seen[] = [...earlier];
  return round.map((s) => {
    const own = ownTest(s, o.own);
    const improvement = own?.mean ?? Number.NaN;
    const original = seen.find((e) => e.hash === s.hash || cosine(e.change, s.change) > o.maxCosine);
    seen.push(s);
    const head = { id: s.id, author: s.author, improvement };
    if (original !== undefined) return { ...head, status: 'copy', copyOf: original.id };
    return own?.accepted === true ? { ...head, status: 'kept' } : { ...head, status: 'hurt' };
  });
}

/** The paired test of a submission on its own sample; null when its losses cannot be tested (unpaired, non-finite). */
function ownTest(s: Submission, o: PairedTestOptions) {
  try {
    return pairedTest(s.before, s.after, o);
  } catch {
    return null;
  }
}

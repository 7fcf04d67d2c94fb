import { splitCredit } from './credit.ts';
import { type OuterOptions, type OuterState, meanChange, outerStep } from './outer.ts';
import { type ScreenOptions, type Screened, type Seen, type Submission, screen } from './screen.ts';
import type { Tensors } from './tensors.ts';

export interface Aggregate {
  /** Every submission, in arrival order, with its own score and what became of it. */
  readonly screened: readonly Screened[];
  /** The outer step to add to the base, and the slot's state if it is accepted; null when nothing was kept. */
  readonly outer: { readonly step: Record<string, Float32Array>; readonly state: OuterState } | null;
}

/** Screens a round's submissions (copies and hurting changes out) and averages the kept ones into one outer step. */
export function aggregate(round: readonly Submission[], earlier: readonly Seen[], state: OuterState | null, o: ScreenOptions & OuterOptions): Aggregate {
  const screened = screen(round, earlier, o);
  const kept: Tensors[] = round.filter((_, i) => screened[i]!.status === 'kept').map((s) => s.change);
  return { screened, outer: kept.length === 0 ? null : outerStep(meanChange(kept), state, o) };
}

/**
 * The credit of an accepted round: `pool` units split among the kept submissions in proportion to
 * their own measured improvement (largest remainder, summing to the pool exactly); a dropped or
 * copied submission gets 0. Keyed by submission id, in arrival order.
 */
export function roundCredit(screened: readonly Screened[], pool: number): { id: string; author: string; credit: number }[] {
  const parts = splitCredit(pool, screened.map((s) => (s.status === 'kept' ? s.improvement : 0)));
  return screened.map((s, i) => ({ id: s.id, author: s.author, credit: parts[i]! }));
}

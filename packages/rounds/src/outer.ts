import { type Tensors, combine } from './tensors.ts';

/** The outer optimizer's state of one slot: the momentum of its accepted outer steps. */
export interface OuterState {
  readonly momentum: Tensors;
}

export interface OuterOptions {
  /** Outer learning rate (DiLoCo: 0.7). */
  readonly lr: number;
  /** Nesterov momentum (DiLoCo: 0.9). */
  readonly momentum: number;
}

/** The plain mean of the kept changes; throws on none. */
export function meanChange(changes: readonly Tensors[]): Record<string, Float32Array> {
  if (changes.length === 0) throw new RangeError('no change to average');
  return combine(changes, changes.map(() => 1 / changes.length));
}

/**
 * DiLoCo's outer step with Nesterov momentum, written for changes (trained − base, the negative
 * of the pseudo-gradient): v ← μ·v + Δ̄, step = lr · (Δ̄ + μ·v). Returns the step to add to the
 * base and the state to keep if the step is accepted (a rejected round leaves the old state).
 */
export function outerStep(mean: Tensors, state: OuterState | null, o: OuterOptions): { step: Record<string, Float32Array>; state: OuterState } {
  const momentum = state === null ? combine([mean], [1]) : combine([state.momentum, mean], [o.momentum, 1]);
  return { step: combine([mean, momentum], [o.lr, o.lr * o.momentum]), state: { momentum } };
}

import type { FloatArray } from '../arrays.ts';

/**
 * Softmax cross-entropy per row of `logits` [n, V]: probs = softmax(logits) (float64 arithmetic),
 * losses[t] = −log probs[t, targets[t]].
 */
export function crossEntropyForward(
  losses: FloatArray,
  probs: FloatArray,
  logits: FloatArray,
  targets: ArrayLike<number>,
  n: number,
  V: number,
): void {
  for (let t = 0; t < n; t++) {
    const o = t * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v]! > max) max = logits[o + v]!;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v]! - max);
    for (let v = 0; v < V; v++) probs[o + v] = Math.exp(logits[o + v]! - max) / sum;
    losses[t] = Math.log(sum) - (logits[o + targets[t]!]! - max);
  }
}

/** Accumulates dlogits[t, v] += dlosses[t] · (probs[t, v] − [v = targets[t]]). */
export function crossEntropyBackward(
  dlogits: FloatArray,
  dlosses: FloatArray,
  probs: FloatArray,
  targets: ArrayLike<number>,
  n: number,
  V: number,
): void {
  for (let t = 0; t < n; t++) {
    const o = t * V;
    const g = dlosses[t]!;
    for (let v = 0; v < V; v++) dlogits[o + v]! += g * probs[o + v]!;
    dlogits[o + targets[t]!]! -= g;
  }
}

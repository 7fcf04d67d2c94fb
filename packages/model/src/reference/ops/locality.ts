import type { FloatArray } from '../arrays.ts';

/**
 * Locality loss of one layer over S sequences of T tokens each (rows of `probs` [S·T, E]):
 *   locality = mean_b H(p̄_b), p̄_b = mean router probability over sequence b's tokens,
 * H the entropy in nats. Low when each sequence keeps to few experts; with the load-balancing loss
 * keeping the batch's mean spread out, the two together reward experts that specialise by sequence.
 * Writes p̄ [S, E] to `means`.
 */
export function localityForward(means: Float64Array, probs: FloatArray, S: number, T: number, E: number): number {
  means.fill(0);
  let total = 0;
  for (let b = 0; b < S; b++) {
    for (let t = b * T; t < (b + 1) * T; t++) for (let e = 0; e < E; e++) means[b * E + e]! += probs[t * E + e]! / T;
    for (let e = 0; e < E; e++) {
      const p = means[b * E + e]!;
      if (p > 0) total -= p * Math.log(p);
    }
  }
  return total / S;
}

/** Accumulates dprobs[t, e] += dlocality · −(log p̄_{b,e} + 1) / (S · T) for t in sequence b. */
export function localityBackward(dprobs: FloatArray, means: Float64Array, dlocality: number, S: number, T: number, E: number): void {
  for (let b = 0; b < S; b++) {
    for (let e = 0; e < E; e++) {
      const d = (-dlocality * (Math.log(means[b * E + e]!) + 1)) / (S * T);
      for (let t = b * T; t < (b + 1) * T; t++) dprobs[t * E + e]! += d;
    }
  }
}

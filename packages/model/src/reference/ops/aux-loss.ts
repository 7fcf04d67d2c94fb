import type { FloatArray } from '../arrays.ts';

/**
 * Switch-Transformer load-balancing loss for one layer over n tokens:
 *   aux = E · Σ_e f_e · P_e,
 * f_e = fraction of the n·K (token, slot) assignments that went to expert e (written to `load`;
 * a count, so no gradient flows through it), P_e = mean router probability of e over the tokens.
 * It is 1 when routing is perfectly balanced and grows as it concentrates.
 */
export function auxLossForward(load: Float64Array, probs: FloatArray, experts: Int32Array, n: number, E: number, K: number): number {
  load.fill(0);
  for (let a = 0; a < n * K; a++) load[experts[a]!]! += 1 / (n * K);
  let aux = 0;
  for (let e = 0; e < E; e++) {
    let P = 0;
    for (let t = 0; t < n; t++) P += probs[t * E + e]!;
    aux += load[e]! * (P / n);
  }
  return E * aux;
}

/** Accumulates dprobs[t, e] += daux · E · f_e / n. */
export function auxLossBackward(dprobs: FloatArray, load: Float64Array, daux: number, n: number, E: number): void {
  for (let t = 0; t < n; t++) {
    for (let e = 0; e < E; e++) dprobs[t * E + e]! += (daux * E * load[e]!) / n;
  }
}

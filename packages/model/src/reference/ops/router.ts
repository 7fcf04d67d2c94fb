import type { FloatArray } from '../arrays.ts';

/**
 * Row softmax of `logits` [n, E] into `probs` (float64 arithmetic, max subtracted), normalized over
 * the first `base` experts: p_e = exp(l_e − max) / Z with max and Z taken over e < base, for every e.
 * base = E is the plain softmax; with base < E (a grown model) experts e ≥ base get scores on the
 * same scale that change nothing computed for the others.
 */
export function softmaxForward(probs: FloatArray, logits: FloatArray, n: number, E: number, base = E): void {
  for (let t = 0; t < n; t++) {
    const o = t * E;
    let max = -Infinity;
    for (let e = 0; e < base; e++) if (logits[o + e]! > max) max = logits[o + e]!;
    let sum = 0;
    for (let e = 0; e < base; e++) sum += Math.exp(logits[o + e]! - max);
    for (let e = 0; e < E; e++) probs[o + e] = Math.exp(logits[o + e]! - max) / sum;
  }
}

/**
 * Accumulates the gradient of softmaxForward: with S = Σ_k p_k dp_k over all E experts,
 * dlogits_e += p_e (dp_e − S) for e < base and p_e dp_e for e ≥ base (a grown expert's logit is
 * not in Z).
 */
export function softmaxBackward(dlogits: FloatArray, dprobs: FloatArray, probs: FloatArray, n: number, E: number, base = E): void {
  for (let t = 0; t < n; t++) {
    const o = t * E;
    let pdp = 0;
    for (let e = 0; e < E; e++) pdp += probs[o + e]! * dprobs[o + e]!;
    for (let e = 0; e < E; e++) dlogits[o + e]! += probs[o + e]! * (dprobs[o + e]! - (e < base ? pdp : 0));
  }
}

/**
 * Top-K routing per token. Among the `candidates` (ascending expert indices; every expert when
 * routing is dynamic) it picks the K largest probabilities, ties going to the lower index, in
 * descending order: experts[t, slot]. The weights are those K probabilities renormalized to sum to 1
 * (Mixtral style): weights[t, slot] = p_slot / S with S = Σ of the K chosen probabilities.
 */
export function topKForward(
  experts: Int32Array,
  weights: FloatArray,
  probs: FloatArray,
  n: number,
  E: number,
  K: number,
  candidates: readonly number[],
): void {
  for (let t = 0; t < n; t++) {
    const o = t * E;
    const s = t * K;
    let sum = 0;
    for (let slot = 0; slot < K; slot++) {
      let best = -1;
      for (const e of candidates) {
        if (taken(experts, s, slot, e)) continue;
        if (best < 0 || probs[o + e]! > probs[o + best]!) best = e;
      }
      experts[s + slot] = best;
      sum += probs[o + best]!;
    }
    for (let slot = 0; slot < K; slot++) weights[s + slot] = probs[o + experts[s + slot]!]! / sum;
  }
}

function taken(experts: Int32Array, s: number, slots: number, e: number): boolean {
  for (let slot = 0; slot < slots; slot++) if (experts[s + slot] === e) return true;
  return false;
}

/**
 * Accumulates dprobs from dweights through the renormalization w_i = p_i / S (the choice itself is
 * piecewise constant): ∂w_i/∂p_j = (δ_ij − w_i) / S for chosen j, so
 *   dprobs_j += (dw_j − Σ_i dw_i w_i) / S.
 */
export function topKBackward(
  dprobs: FloatArray,
  dweights: FloatArray,
  probs: FloatArray,
  experts: Int32Array,
  n: number,
  E: number,
  K: number,
): void {
  for (let t = 0; t < n; t++) {
    const o = t * E;
    const s = t * K;
    let sum = 0;
    for (let slot = 0; slot < K; slot++) sum += probs[o + experts[s + slot]!]!;
    let dww = 0;
    for (let slot = 0; slot < K; slot++) dww += dweights[s + slot]! * (probs[o + experts[s + slot]!]! / sum);
    for (let slot = 0; slot < K; slot++) dprobs[o + experts[s + slot]!]! += (dweights[s + slot]! - dww) / sum;
  }
}

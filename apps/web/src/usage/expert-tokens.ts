/**
 * How many tokens each expert computed for one answer: counts[layer][expert] over the answer's
 * positions, i.e. the prompt and every generated token fed back through the model (the last
 * sampled token is never run). A position counts once however often a backend recomputed it.
 */
export type ExpertCounts = number[][];

/** Exact counts from each position's routing (the CPU reference, wasm): routes[layer][position] lists the experts it went to. */
export function routedCounts(routes: readonly (readonly (readonly number[])[])[], nExperts: number): ExpertCounts {
  return routes.map((positions) => {
    const counts = new Array<number>(nExperts).fill(0);
    for (const experts of positions) for (const e of experts) counts[e]!++;
    return counts;
  });
}

/**
 * Counts for WebGPU, whose routing is not read back per token: each layer computed exactly
 * `positions × topK` expert-tokens, among the experts it is known to have used (`used`, see
 * LayerRoute.used); that total is split evenly over them, the remainder to the lowest indices.
 * The per-layer total is exact, only its split between the used experts is an estimate.
 */
export function spreadCounts(used: readonly (readonly number[])[], positions: number, topK: number, nExperts: number): ExpertCounts {
  return used.map((experts) => {
    const counts = new Array<number>(nExperts).fill(0);
    const total = positions * topK;
    for (const [i, e] of experts.entries()) counts[e] = Math.floor(total / experts.length) + (i < total % experts.length ? 1 : 0);
    return counts;
  });
}

/** Block hash → tokens for every expert that computed any; `blockOf` names the block each expert ran from. */
export function blockTokens(counts: ExpertCounts, blockOf: (layer: number, expert: number) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [l, layer] of counts.entries()) for (const [e, n] of layer.entries()) if (n > 0) out[blockOf(l, e)] = n;
  return out;
}

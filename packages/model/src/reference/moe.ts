import { type FloatArray, view, zerosLike } from './arrays.ts';
import { type ModelConfig, routerBase } from './config.ts';
import { auxLossBackward, auxLossForward } from './ops/aux-loss.ts';
import { matmulBackward, matmulForward } from './ops/matmul.ts';
import { localityBackward, localityForward } from './ops/locality.ts';
import { softmaxBackward, softmaxForward, topKBackward, topKForward } from './ops/router.ts';
import { type ExpertWeights, type SwigluActs, swigluBackward, swigluForward } from './ops/swiglu.ts';
import { expertTensorNames } from './params.ts';
import { type AllowedSet, type LayerRouting, chooseStaticExperts, validateAllowed, validateBudgets } from './routing.ts';

/** Router [E, d] and experts of one layer; an expert whose weights are not loaded is null. */
export interface MoeWeights<A extends FloatArray = FloatArray> {
  readonly router: A;
  readonly experts: readonly (ExpertWeights<A> | null)[];
}

/** The (token, slot) assignments one expert received, in token order, and its activations. */
export interface ExpertGroup<A extends FloatArray = FloatArray> extends SwigluActs<A> {
  readonly tokens: Int32Array;
  readonly slots: Int32Array;
  /** The routed tokens' input rows, gathered [count, d]. */
  readonly x: A;
  /** The expert's output rows [count, d], before weighting. */
  readonly y: A;
}

export interface MoeActs<A extends FloatArray = FloatArray> {
  /** The set every token was routed within (null = all experts, or see budgetSets). */
  readonly allowed: AllowedSet;
  /** Under per-sequence budgets, each sequence's set (and `allowed` is null); else null. */
  readonly budgetSets: readonly (readonly number[])[] | null;
  /** Router logits and softmax probabilities [n, E]. */
  readonly logits: A;
  readonly probs: A;
  /** Chosen experts [n, K], best first, and their renormalized weights [n, K]. */
  readonly experts: Int32Array;
  readonly weights: A;
  /** Fraction of assignments per expert [E] and the layer's load-balancing loss. */
  readonly load: Float64Array;
  readonly aux: number;
  /** Each sequence's mean router probabilities [sequences, E] and the layer's locality loss. */
  readonly means: Float64Array;
  readonly locality: number;
  readonly groups: readonly ExpertGroup<A>[];
  /** Σ_slot weight · expert(x) [n, d]. */
  readonly out: A;
}

/** Routing sent a token to an expert whose weights are not loaded; fetch them and run again. */
export class MissingExpertError extends Error {
  override name = 'MissingExpertError';

  constructor(
    readonly layer: number,
    readonly expert: number,
  ) {
    const { w1, w3, w2 } = expertTensorNames(layer, expert);
    super(`layer ${layer} routes tokens to expert ${expert}, but its weights (${w1}, ${w3}, ${w2}) are not loaded`);
  }
}

function loaded<A extends FloatArray>(w: MoeWeights<A>, layer: number, expert: number): ExpertWeights<A> {
  const ew = w.experts[expert];
  if (!ew) throw new MissingExpertError(layer, expert);
  return ew;
}

/** The sets the n tokens route within: one for all of them, or one per sequence of n / sequences tokens. */
function resolveSets(routing: LayerRouting, probs: FloatArray, n: number, sequences: number, cfg: ModelConfig, layer: number): AllowedSet[] {
  const E = cfg.nExperts;
  if (routing !== null && 'budgets' in routing) {
    const { budgets } = routing;
    if (budgets.length !== sequences) throw new Error(`layer ${layer}: ${budgets.length} sequence budgets for ${sequences} sequences`);
    const T = n / sequences;
    validateBudgets(budgets, cfg, T);
    return budgets.map(({ experts, promptTokens }, b) => chooseStaticExperts(rowsOf(probs.subarray(b * T * E), promptTokens, E), experts));
  }
  const allowed = routing !== null && 'choose' in routing ? chooseStaticExperts(rowsOf(probs, n, E), routing.choose) : routing;
  if (allowed) validateAllowed(allowed, cfg, layer);
  return [allowed];
}

const rowsOf = (a: FloatArray, n: number, width: number): FloatArray[] => Array.from({ length: n }, (_, t) => a.subarray(t * width, (t + 1) * width));

/** Groups the n·K assignments by expert, gathering each routed token's row of x. */
function dispatch<A extends FloatArray>(x: A, experts: Int32Array, n: number, cfg: ModelConfig): ExpertGroup<A>[] {
  const { nExperts: E, topK: K, dModel: d, dFF } = cfg;
  const counts = new Int32Array(E);
  for (let a = 0; a < n * K; a++) counts[experts[a]!]!++;
  const groups = Array.from({ length: E }, (_, e) => {
    const count = counts[e]!;
    return {
      tokens: new Int32Array(count),
      slots: new Int32Array(count),
      x: zerosLike(x, count * d),
      y: zerosLike(x, count * d),
      h1: zerosLike(x, count * dFF),
      h3: zerosLike(x, count * dFF),
      act: zerosLike(x, count * dFF),
    };
  });
  const fill = new Int32Array(E);
  for (let t = 0; t < n; t++) {
    for (let slot = 0; slot < K; slot++) {
      const e = experts[t * K + slot]!;
      const g = groups[e]!;
      const a = fill[e]!++;
      g.tokens[a] = t;
      g.slots[a] = slot;
      g.x.set(x.subarray(t * d, (t + 1) * d), a * d);
    }
  }
  return groups;
}

/** out[t] += weights[t, slot] · y[assignment] over every expert's assignments. */
function combineForward(out: FloatArray, groups: readonly ExpertGroup[], weights: FloatArray, K: number, d: number): void {
  for (const g of groups) {
    for (let a = 0; a < g.tokens.length; a++) {
      const t = g.tokens[a]!;
      const wt = weights[t * K + g.slots[a]!]!;
      for (let c = 0; c < d; c++) out[t * d + c]! += wt * g.y[a * d + c]!;
    }
  }
}

/** For one expert's assignments: dy[a] = weight · dout[t] and dweights[t, slot] += dout[t] · y[a]. */
function combineBackward(dy: FloatArray, dweights: FloatArray, dout: FloatArray, g: ExpertGroup, weights: FloatArray, K: number, d: number): void {
  for (let a = 0; a < g.tokens.length; a++) {
    const t = g.tokens[a]!;
    const w = t * K + g.slots[a]!;
    const wt = weights[w]!;
    let dot = 0;
    for (let c = 0; c < d; c++) {
      dy[a * d + c] = wt * dout[t * d + c]!;
      dot += dout[t * d + c]! * g.y[a * d + c]!;
    }
    dweights[w]! += dot;
  }
}

/**
 * moeForward's routing alone (no expert runs): router logits and probabilities [n, E], the sets
 * the tokens route within (one, or one per sequence) and each token's chosen experts and weights [n, K].
 */
export function routeForward<A extends FloatArray>(router: A, x: A, n: number, cfg: ModelConfig, layer: number, routing: LayerRouting, sequences = 1) {
  const { nExperts: E, topK: K, dModel: d } = cfg;
  const logits = zerosLike(x, n * E);
  const probs = zerosLike(x, n * E);
  matmulForward(logits, x, router, n, d, E);
  softmaxForward(probs, logits, n, E, routerBase(cfg));
  const sets = resolveSets(routing, probs, n, sequences, cfg, layer);
  const experts = new Int32Array(n * K);
  const weights = zerosLike(x, n * K);
  const rows = n / sets.length;
  for (const [s, set] of sets.entries()) {
    const [from, to] = [s * rows, (s + 1) * rows];
    topKForward(experts.subarray(from * K, to * K), view(weights, from * K, to * K), view(probs, from * E, to * E), rows, E, K, set ?? Array.from({ length: E }, (_, e) => e));
  }
  return { logits, probs, sets, experts, weights };
}

/**
 * Mixture-of-experts layer on x [n, d]: router logits = x · routerᵀ, probabilities = softmax over
 * all E experts (normalized over the base experts of a grown model, ops/router.ts), top-K within the allowed set with renormalized weights, each expert a SwiGLU
 * on its tokens, output = Σ weight · expert(x). Throws MissingExpertError when a token is routed to
 * an expert that is not loaded.
 */
export function moeForward<A extends FloatArray>(
  w: MoeWeights<A>,
  x: A,
  n: number,
  cfg: ModelConfig,
  layer: number,
  routing: LayerRouting,
  sequences = 1,
): MoeActs<A> {
  const { nExperts: E, topK: K, dModel: d, dFF } = cfg;
  const { logits, probs, sets, experts, weights } = routeForward(w.router, x, n, cfg, layer, routing, sequences);
  const load = new Float64Array(E);
  const aux = auxLossForward(load, probs, experts, n, E, K);
  const means = new Float64Array(sequences * E);
  const locality = localityForward(means, probs, sequences, n / sequences, E);
  const groups = dispatch(x, experts, n, cfg);
  for (const [e, g] of groups.entries()) {
    if (g.tokens.length > 0) swigluForward(g.y, g, g.x, loaded(w, layer, e), g.tokens.length, d, dFF);
  }
  const out = zerosLike(x, n * d);
  combineForward(out, groups, weights, K, d);
  const budgets = routing !== null && 'budgets' in routing;
  const allowed = budgets ? null : sets[0]!;
  const budgetSets = budgets ? (sets as number[][]) : null;
  return { allowed, budgetSets, logits, probs, experts, weights, load, aux, means, locality, groups, out };
}

/**
 * Accumulates dx and the gradients `g` (router and every expert; an expert without tokens gets
 * none) for moeForward, given dout [n, d] and daux and dlocality, the loss's derivatives w.r.t.
 * this layer's aux and locality losses. The gradient reaches the router through the renormalized
 * top-K weights and those two losses; the choice of experts (and of the allowed sets) carries none.
 */
export function moeBackward<A extends FloatArray>(
  dx: A,
  g: MoeWeights<A>,
  dout: A,
  x: A,
  w: MoeWeights<A>,
  acts: MoeActs<A>,
  n: number,
  cfg: ModelConfig,
  layer: number,
  daux: number,
  dlocality = 0,
): void {
  const { nExperts: E, topK: K, dModel: d, dFF } = cfg;
  const dweights = zerosLike(x, n * K);
  for (const [e, group] of acts.groups.entries()) {
    const count = group.tokens.length;
    if (count === 0) continue;
    const dy = zerosLike(x, count * d);
    combineBackward(dy, dweights, dout, group, acts.weights, K, d);
    const dxg = zerosLike(x, count * d);
    swigluBackward(dxg, loaded(g, layer, e), dy, group.x, group, loaded(w, layer, e), count, d, dFF);
    for (let a = 0; a < count; a++) {
      const t = group.tokens[a]!;
      for (let c = 0; c < d; c++) dx[t * d + c]! += dxg[a * d + c]!;
    }
  }
  const dprobs = zerosLike(x, n * E);
  topKBackward(dprobs, dweights, acts.probs, acts.experts, n, E, K);
  auxLossBackward(dprobs, acts.load, daux, n, E);
  if (dlocality !== 0) localityBackward(dprobs, acts.means, dlocality, acts.means.length / E, (n * E) / acts.means.length, E);
  const dlogits = zerosLike(x, n * E);
  softmaxBackward(dlogits, dprobs, acts.probs, n, E, routerBase(cfg));
  matmulBackward(dx, g.router, dlogits, x, w.router, n, d, E);
}

import type { ModelConfig } from './config.ts';

/** Experts a layer may route to: ascending distinct indices, or null for all of them. */
export type AllowedSet = readonly number[] | null;

/**
 * One sequence's expert budget (issue 12): each layer picks the `experts` experts with the largest
 * summed router probability over the sequence's first `promptTokens` tokens (chooseStaticExperts),
 * and every token of the sequence routes top-K within them. experts = nExperts is dynamic routing.
 */
export interface SequenceBudget {
  readonly experts: number;
  readonly promptTokens: number;
}

/**
 * How one MoE layer routes a batch of tokens: a fixed AllowedSet, `{ choose: m }`: pick the m
 * experts with the largest summed router probability over these very tokens (chooseStaticExperts),
 * then route within them, or `{ budgets }`: the tokens are budgets.length sequences of equal length,
 * each routed within its own SequenceBudget.
 */
export type LayerRouting = AllowedSet | { readonly choose: number } | { readonly budgets: readonly SequenceBudget[] };

/**
 * Routing of a whole inference session.
 * - dynamic: every token takes its top-K over all experts.
 * - static: each layer routes within the given set (null = all experts) for the prompt and every
 *   later token.
 * - static-prompt: during prefill each layer in turn picks its set of `expertsPerLayer` experts from
 *   its own router probabilities over the prompt (which depend only on the earlier layers, already
 *   computed under their sets); decode steps keep those sets.
 * In every mode the router softmax runs over all experts and the chosen K are renormalized.
 */
export type Routing =
  | { readonly mode: 'dynamic' }
  | { readonly mode: 'static'; readonly allowed: readonly AllowedSet[] }
  | { readonly mode: 'static-prompt'; readonly expertsPerLayer: number };

/**
 * The m experts with the largest summed probability over the given tokens (one row of nExperts
 * router probabilities per token), ties going to the lower index; returned in ascending order.
 */
export function chooseStaticExperts(probs: readonly ArrayLike<number>[], m: number): number[] {
  const first = probs[0];
  if (first === undefined) throw new Error('chooseStaticExperts needs the router probabilities of at least one token');
  const E = first.length;
  if (!Number.isSafeInteger(m) || m < 1 || m > E) throw new Error(`chooseStaticExperts: m must be an integer in [1, ${E}], got ${m}`);
  const totals = new Float64Array(E);
  for (const [t, row] of probs.entries()) {
    if (row.length !== E) throw new Error(`chooseStaticExperts: token ${t} has ${row.length} probabilities, token 0 has ${E}`);
    for (let e = 0; e < E; e++) totals[e]! += row[e]!;
  }
  const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => totals[b]! - totals[a]! || a - b);
  return order.slice(0, m).sort((a, b) => a - b);
}

/** Throws unless `allowed` lists at least topK distinct experts of the layer in ascending order. */
export function validateAllowed(allowed: readonly number[], cfg: ModelConfig, layer: number): void {
  for (const [i, e] of allowed.entries()) {
    if (!Number.isSafeInteger(e) || e < 0 || e >= cfg.nExperts) throw new Error(`layer ${layer}: allowed expert ${e} is not in [0, ${cfg.nExperts})`);
    if (i > 0 && e <= allowed[i - 1]!) throw new Error(`layer ${layer}: allowed experts must be distinct and ascending, got [${allowed.join(', ')}]`);
  }
  if (allowed.length < cfg.topK) throw new Error(`layer ${layer}: ${allowed.length} allowed experts but every token needs topK = ${cfg.topK}`);
}

export function validateRouting(routing: Routing, cfg: ModelConfig): void {
  if (routing.mode === 'static') {
    if (routing.allowed.length !== cfg.nLayers) throw new Error(`static routing has ${routing.allowed.length} allowed sets for ${cfg.nLayers} layers`);
    for (const [layer, allowed] of routing.allowed.entries()) if (allowed) validateAllowed(allowed, cfg, layer);
  } else if (routing.mode === 'static-prompt') {
    const m = routing.expertsPerLayer;
    if (!Number.isSafeInteger(m) || m < cfg.topK || m > cfg.nExperts) {
      throw new Error(`static-prompt routing: expertsPerLayer must be an integer in [topK = ${cfg.topK}, nExperts = ${cfg.nExperts}], got ${m}`);
    }
  } else if (routing.mode !== 'dynamic') {
    throw new Error(`routing mode must be dynamic, static or static-prompt, got ${JSON.stringify((routing as { mode: unknown }).mode)}`);
  }
}

/** Throws unless each budget keeps [topK, nExperts] experts chosen from a prompt of [1, T] tokens. */
export function validateBudgets(budgets: readonly SequenceBudget[], cfg: ModelConfig, T: number): void {
  for (const [b, { experts, promptTokens }] of budgets.entries()) {
    if (!Number.isSafeInteger(experts) || experts < cfg.topK || experts > cfg.nExperts) {
      throw new Error(`sequence ${b}: an expert budget must be an integer in [topK = ${cfg.topK}, nExperts = ${cfg.nExperts}], got ${experts}`);
    }
    if (!Number.isSafeInteger(promptTokens) || promptTokens < 1 || promptTokens > T) {
      throw new Error(`sequence ${b}: the prompt must be an integer number of tokens in [1, ${T}], got ${promptTokens}`);
    }
  }
}

/**
 * Inference under a sequence budget of m experts per layer chosen from the prompt (the budget's
 * prompt is the prompt): static-prompt routing, or dynamic routing when m keeps every expert.
 */
export function budgetRouting(m: number, cfg: ModelConfig): Routing {
  return m === cfg.nExperts ? { mode: 'dynamic' } : { mode: 'static-prompt', expertsPerLayer: m };
}

/** Hyperparameters of the decoder-only mixture-of-experts transformer. */
export interface ModelConfig {
  readonly vocabSize: number;
  readonly dModel: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nExperts: number;
  /** Experts each token is routed to (2 in the product). */
  readonly topK: number;
  /** Hidden width of each SwiGLU expert. */
  readonly dFF: number;
  readonly contextLength: number;
  /** Base of the rotary position frequencies (10000). */
  readonly ropeTheta: number;
  /** Epsilon inside RMSNorm's square root (1e-5). */
  readonly normEps: number;
  /** Weight of the mean per-layer load-balancing loss in the total loss (e.g. 0.01). */
  readonly auxLossCoef: number;
  /**
   * Present on models trained for per-sequence expert budgets (issue 12; absent = v1): each
   * sequence may route within a budget of experts per layer chosen from its prompt (routing.ts
   * SequenceBudget), and the training loss adds localityLossCoef · the mean per-layer locality loss
   * (moe.ts). The graphs of such a model take each sequence's budget as inputs.
   */
  readonly sequenceBudgets?: SequenceBudgetConfig;
  /**
   * Present on a grown model (issue 14; absent = nExperts): the router softmax is normalized over
   * experts [0, baseExperts) only, the model's experts before growth. A grown expert e ≥ baseExperts
   * scores exp(logit_e − max) / Z with that same max and Z, so every number computed for the base
   * experts is bit-for-bit what the ungrown model computes, and a prompt that routes to no grown
   * expert gives the ungrown model's logits (reference/ops/router.ts).
   */
  readonly baseExperts?: number;
}

export interface SequenceBudgetConfig {
  /** Weight of the locality loss (mean entropy of each sequence's mean router distribution), e.g. 0.01. */
  readonly localityLossCoef: number;
}

const POSITIVE_INTEGERS = ['vocabSize', 'dModel', 'nLayers', 'nHeads', 'nExperts', 'topK', 'dFF', 'contextLength'] as const;

/** Throws an Error naming the first field of `cfg` that cannot describe a model. */
export function validateConfig(cfg: ModelConfig): void {
  for (const key of POSITIVE_INTEGERS) {
    const value = cfg[key];
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`config.${key} must be a positive integer, got ${value}`);
  }
  if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`config.dModel (${cfg.dModel}) must be divisible by config.nHeads (${cfg.nHeads})`);
  if ((cfg.dModel / cfg.nHeads) % 2 !== 0) throw new Error(`head dimension dModel / nHeads = ${cfg.dModel / cfg.nHeads} must be even for rotary positions`);
  if (cfg.topK > cfg.nExperts) throw new Error(`config.topK (${cfg.topK}) cannot exceed config.nExperts (${cfg.nExperts})`);
  if (!(cfg.ropeTheta > 0)) throw new Error(`config.ropeTheta must be positive, got ${cfg.ropeTheta}`);
  if (!(cfg.normEps > 0)) throw new Error(`config.normEps must be positive, got ${cfg.normEps}`);
  if (!(cfg.auxLossCoef >= 0)) throw new Error(`config.auxLossCoef must be non-negative, got ${cfg.auxLossCoef}`);
  const base = cfg.baseExperts;
  if (base !== undefined && (!Number.isSafeInteger(base) || base < cfg.topK || base > cfg.nExperts)) {
    throw new Error(`config.baseExperts must be an integer in [topK = ${cfg.topK}, nExperts = ${cfg.nExperts}], got ${base}`);
  }
  const budgets = cfg.sequenceBudgets;
  if (budgets !== undefined && !(typeof budgets === 'object' && budgets !== null && budgets.localityLossCoef >= 0)) {
    throw new Error(`config.sequenceBudgets.localityLossCoef must be non-negative, got ${JSON.stringify(budgets)}`);
  }
}

export function headDim(cfg: ModelConfig): number {
  return cfg.dModel / cfg.nHeads;
}

/** The weight of the locality loss in the training loss: 0 for a model without sequence budgets. */
export const localityCoef = (cfg: ModelConfig): number => cfg.sequenceBudgets?.localityLossCoef ?? 0;

/** Experts the router softmax is normalized over: all of them unless the model was grown. */
export const routerBase = (cfg: ModelConfig): number => cfg.baseExperts ?? cfg.nExperts;

/** The config as JSON with every object's keys sorted: equal configs give equal strings. */
export function canonicalConfigJson(cfg: ModelConfig): string {
  const sorted = (x: unknown): unknown =>
    typeof x === 'object' && x !== null ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sorted(v)])) : x;
  return JSON.stringify(sorted(cfg));
}

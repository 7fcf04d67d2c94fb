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
}

export function headDim(cfg: ModelConfig): number {
  return cfg.dModel / cfg.nHeads;
}

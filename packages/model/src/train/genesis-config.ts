import type { ModelConfig } from '../reference/config.ts';

/**
 * The genesis model. Sized to train to a useful loss in hours on a 2-core CPU and to ship as
 * small blocks: one expert is 3 · 128 · 512 = 196,608 weights (≈ 197 KB as int8 with per-row
 * scales), all 32 experts ≈ 6.3 MB, the tied 4096 × 128 embedding 0.5 M more. 4096 BPE tokens
 * (trained on the train split) cover the corpus at ≈ 4.2 bytes per token, so 256 tokens of context
 * hold about a kilobyte of text. Two of eight experts per token make the active feed-forward width
 * 1024, the width of the dense baseline below.
 */
export const GENESIS_CONFIG: ModelConfig = {
  vocabSize: 4096,
  dModel: 128,
  nLayers: 4,
  nHeads: 4,
  nExperts: 8,
  topK: 2,
  dFF: 512,
  contextLength: 256,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.01,
};

/**
 * Genesis v2, trained for locality (issue 12): twice the experts of v1 at the same width and top-2,
 * so a token's active feed-forward width (1024) and the dense baseline stay those of v1 while the
 * model holds twice the expert weights (64 experts, 12.6 MB f32). Each sequence routes within a
 * per-layer budget chosen from its prompt: 6 of 16 (37.5 % of the expert bytes) by default, 3 of
 * 16 (19 %) for low bandwidth; training draws every budget from 2 to 16 and adds the locality loss.
 */
export const GENESIS_V2_CONFIG: ModelConfig = {
  ...GENESIS_CONFIG,
  nExperts: 16,
  sequenceBudgets: { localityLossCoef: 0.01 },
};

/** The genesis configs by name, v1 first. */
export const GENESIS_CONFIGS = { genesis: GENESIS_CONFIG, 'genesis-v2': GENESIS_V2_CONFIG } as const;
export type GenesisName = keyof typeof GENESIS_CONFIGS;

/**
 * The dense baseline of an MoE config: one expert as wide as the topK experts a token uses
 * together, so both models spend the same parameters and FLOPs per token.
 */
export function denseBaseline(cfg: ModelConfig): ModelConfig {
  const { sequenceBudgets: _, ...rest } = cfg;
  return { ...rest, nExperts: 1, topK: 1, dFF: cfg.topK * cfg.dFF };
}

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
 * The dense baseline of an MoE config: one expert as wide as the topK experts a token uses
 * together, so both models spend the same parameters and FLOPs per token.
 */
export function denseBaseline(cfg: ModelConfig): ModelConfig {
  return { ...cfg, nExperts: 1, topK: 1, dFF: cfg.topK * cfg.dFF };
}

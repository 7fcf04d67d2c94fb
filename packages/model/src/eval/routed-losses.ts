import type { ParamMap } from '../reference/arrays.ts';
import { blockForward } from '../reference/block.ts';
import { type ModelConfig, headDim } from '../reference/config.ts';
import { crossEntropyForward } from '../reference/ops/cross-entropy.ts';
import { embeddingForward } from '../reference/ops/embedding.ts';
import { matmulForward } from '../reference/ops/matmul.ts';
import { rmsnormForward } from '../reference/ops/rmsnorm.ts';
import { ropeTable } from '../reference/ops/rope.ts';
import { layerWeights } from '../reference/params.ts';
import type { AllowedSet } from '../reference/routing.ts';

/** Per-token cross-entropy from logits [n, V], as the reference computes it. */
export function lossesFromLogits(logits: Float32Array, targets: Int32Array, n: number, V: number): Float32Array {
  const losses = new Float32Array(n);
  crossEntropyForward(losses, new Float32Array(n * V), logits, targets, n, V);
  return losses;
}

/**
 * Per-token cross-entropy of one sequence with each layer routing within `allowed[layer]` (null =
 * all experts): the reference forward pass, as a client running prefill and decodeStep under
 * static routing computes every position.
 */
export function routedLosses(params: ParamMap, cfg: ModelConfig, inputs: Int32Array, targets: Int32Array, allowed: readonly AllowedSet[]): Float32Array {
  const n = inputs.length;
  const d = cfg.dModel;
  const V = cfg.vocabSize;
  const rope = ropeTable(n, headDim(cfg), cfg.ropeTheta);
  let x: Float32Array = new Float32Array(n * d);
  embeddingForward(x, inputs, params.embed!, n, d);
  for (let l = 0; l < cfg.nLayers; l++) {
    const run = { B: 1, T: n, start: 0, k: new Float32Array(n * d), v: new Float32Array(n * d), att: null, rope, routing: allowed[l] ?? null };
    x = blockForward(layerWeights(params, cfg, l), x, cfg, l, run).out;
  }
  const h = new Float32Array(n * d);
  rmsnormForward(h, new Float32Array(n), x, params.final_norm!, n, d, cfg.normEps);
  const logits = new Float32Array(n * V);
  matmulForward(logits, h, params.embed!, n, d, V);
  return lossesFromLogits(logits, targets, n, V);
}

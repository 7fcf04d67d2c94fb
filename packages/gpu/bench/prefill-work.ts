import type { ModelConfig } from '@blyan/model';

/** A prompt pass's arithmetic and its least memory traffic. */
export interface Work {
  /** Multiply-adds of the engine's pass: projections, causal attention, router, the top-k experts' SwiGLU, the last token's logits. */
  readonly macs: number;
  /** The same with logits for every token, as the routed ONNX graph computes them. */
  readonly routedGraphMacs: number;
  /** Bytes that must be read at least once: every weight used (f32 dense, int8 experts) and every activation matrix a product reads. */
  readonly bytes: number;
}

/**
 * The prefill of `T` tokens on `cfg` with `experts` experts per layer in use (the budget, or fewer
 * when T·topK assignments touch fewer).
 */
export function prefillWork(cfg: ModelConfig, T: number, experts: number): Work {
  const { dModel: d, dFF: F, nExperts: E, topK: k, vocabSize: V, nLayers: L } = cfg;
  const used = Math.min(experts, E, T * k);
  const layerMacs = 4 * T * d * d + T * (T + 1) * d + T * d * E + T * k * 3 * d * F;
  const layerWeights = 4 * d * d * 4 + E * d * 4 + used * 3 * d * F;
  // Inputs of the attention's projections, its queries, keys and values, the output projection's input, the router's and experts' inputs, the experts' down inputs.
  const layerActivations = (T * d * (1 + 3 + 1 + 1) + T * k * d + T * k * F) * 4;
  return {
    macs: L * layerMacs + d * V,
    routedGraphMacs: L * layerMacs + T * d * V,
    bytes: L * (layerWeights + layerActivations) + T * d * 4 + V * d * 4,
  };
}

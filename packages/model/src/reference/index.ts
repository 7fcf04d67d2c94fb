/**
 * CPU reference implementation of the Blyan mixture-of-experts transformer: the specification the
 * WebGPU and ONNX backends are tested against. Plain loops over typed arrays, an explicit forward
 * and backward function per op (in the manner of llm.c), no dependencies. Conventions other
 * backends must match: weights are [out, in]; rotary positions rotate interleaved pairs
 * (ops/rope.ts); top-K ties go to the lower expert index; top-K weights are the chosen softmax
 * probabilities renormalized to sum to 1.
 */
export { type FloatArray, type ParamMap } from './arrays.ts';
export { type ModelConfig, headDim, routerBase, validateConfig } from './config.ts';
export { type ParamSpec, elementCount, expertTensorNames, initParams, layerWeights, parameterShapes, validateParams } from './params.ts';
export { Rng } from './rng.ts';
export { type AllowedSet, type LayerRouting, type Routing, type SequenceBudget, budgetRouting, chooseStaticExperts, validateRouting } from './routing.ts';
export { type Activations, backward, forward } from './model.ts';
export { type InferenceState, LayeredPrefill, type TokenRoute, decodeStep, expertsUsed, greedyDecode, prefill } from './inference.ts';
export { type SamplingOptions, argmax, sampleToken } from './sampling.ts';
export { type AdamW, type AdamWOptions, adamwStep, createAdamW, frozenPrefixes } from './adamw.ts';
export { type BlockActs, type BlockRun, type LayerWeights, blockBackward, blockForward } from './block.ts';
export { type ExpertGroup, MissingExpertError, type MoeActs, type MoeWeights, moeBackward, moeForward } from './moe.ts';
export { attentionBackward, attentionForward } from './ops/attention.ts';
export { auxLossBackward, auxLossForward } from './ops/aux-loss.ts';
export { localityBackward, localityForward } from './ops/locality.ts';
export { crossEntropyBackward, crossEntropyForward } from './ops/cross-entropy.ts';
export { embeddingBackward, embeddingForward } from './ops/embedding.ts';
export { matmulBackward, matmulForward } from './ops/matmul.ts';
export { residualBackward, residualForward } from './ops/residual.ts';
export { rmsnormBackward, rmsnormForward } from './ops/rmsnorm.ts';
export { type RopeTable, ropeBackward, ropeForward, ropeTable } from './ops/rope.ts';
export { softmaxBackward, softmaxForward, topKBackward, topKForward } from './ops/router.ts';
export { type ExpertWeights, type SwigluActs, swigluBackward, swigluForward } from './ops/swiglu.ts';

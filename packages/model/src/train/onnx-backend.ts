import { OnnxModel } from '../onnx/session.ts';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { crossEntropyForward } from '../reference/ops/cross-entropy.ts';
import { type TrainBackend, type TrainState, copyParams, restoreOptimizer } from './backend.ts';
import type { Batch } from './sampler.ts';

/** Threads ONNX Runtime uses inside an op: both cores of the training machine. */
export const ORT_THREADS = 2;

/** The ONNX model's view of a sampled batch. */
const onnxBatch = ({ inputs, targets, B, T, budgets }: Batch) => ({ tokens: inputs, targets, B, T, ...(budgets ? { budgets } : {}) });

/** Per-token cross-entropy of a batch from the ONNX forward graph's logits, computed as the reference does. */
export async function onnxTokenLosses(model: OnnxModel, params: ParamMap, batch: Batch, masks?: Parameters<OnnxModel['forward']>[2]): Promise<Float32Array> {
  const { logits } = await model.forward(params, onnxBatch(batch), masks);
  const n = batch.B * batch.T;
  const V = model.cfg.vocabSize;
  const losses = new Float32Array(n);
  crossEntropyForward(losses, new Float32Array(n * V), logits, batch.targets, n, V);
  return losses;
}

/** Training on onnxruntime-node: one fused graph per step (forward, backward, clipping, AdamW). */
export async function onnxTrainBackend(cfg: ModelConfig, state: TrainState): Promise<TrainBackend> {
  const model = OnnxModel.create(cfg, { intraOpThreads: ORT_THREADS });
  const train = model.createTrainState(copyParams(state.params));
  restoreOptimizer(train, state);
  return {
    async step(batch, lr) {
      return model.trainStep(train, onnxBatch(batch), lr);
    },
    tokenLosses: (batch) => onnxTokenLosses(model, train.params, batch),
    snapshot: async () => ({ params: copyParams(train.params), m: copyParams(train.m), v: copyParams(train.v), step: train.step }),
    dispose: () => model.dispose(),
  };
}

import type { ModelConfig, ParamMap } from '@blyan/model';
import type { SlotPlan } from '@blyan/model/blocks';
import { windowBatch } from '@blyan/model/eval';
import { OnnxModel } from '@blyan/model/onnx';

export interface ExpertTraining {
  readonly steps: number;
  /** Windows per step. */
  readonly B: number;
  readonly lr: number;
  /** Window b of step s starts at ((s · B + b) · stride) mod (stream length − T − 1), T the context length. */
  readonly stride: number;
  readonly threads: number;
}

/**
 * AdamW steps of one expert slot's tensors on `stream`, on the ORT train graph, every other
 * parameter frozen; returns the slot's trained tensors. For tests and benchmarks that need a real
 * delta.
 */
export async function trainExpert(cfg: ModelConfig, params: ParamMap, slot: SlotPlan, stream: Int32Array, o: ExpertTraining): Promise<ParamMap> {
  const T = cfg.contextLength;
  const model = OnnxModel.create(cfg, { intraOpThreads: o.threads });
  const state = model.createTrainState(params, { trainable: slot.tensors.map((t) => t.name) });
  for (let step = 0; step < o.steps; step++) {
    const windows = Array.from({ length: o.B }, (_, b) => ({ start: ((step * o.B + b) * o.stride) % (stream.length - T - 1), scoreFrom: 0 }));
    const { inputs, targets } = windowBatch(stream, windows, T);
    await model.trainStep(state, { tokens: inputs, targets, B: o.B, T }, o.lr);
  }
  await model.dispose();
  return Object.fromEntries(slot.tensors.map((t) => [t.name, state.params[t.name]!]));
}

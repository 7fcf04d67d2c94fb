import { type ParamMap, expertTensorNames } from '@blyan/model';
import type { OnnxModel } from '@blyan/model/onnx';
import type { ExpertTrainer, TrainSettings } from '../../../apps/web/src/contribute/expert-trainer.ts';

/**
 * The contribute worker's ExpertTrainer on onnxruntime-node (the same forward, backward and AdamW
 * as the CPU reference's trainer, one fused graph per micro-step): one expert of `params` trains,
 * everything else stays frozen.
 */
export function ortTrainer(model: OnnxModel, params: ParamMap, layer: number, expert: number, s: TrainSettings): ExpertTrainer {
  const names = Object.values(expertTensorNames(layer, expert));
  const start = Object.fromEntries(names.map((n) => [n, params[n]!]));
  const state = model.createTrainState({ ...params, ...Object.fromEntries(names.map((n) => [n, params[n]!.slice()])) }, { trainable: names });
  return {
    backend: 'cpu',
    async microStep(inputs, targets) {
      const r = await model.trainStep(state, { tokens: Int32Array.from(inputs), targets: Int32Array.from(targets), B: s.batch, T: s.seqLen }, s.adamw.lr);
      return r.ce;
    },
    async change() {
      return Object.fromEntries(names.map((n) => [n, state.params[n]!.map((v, i) => v - start[n]![i]!)]));
    },
    destroy: () => {},
  };
}

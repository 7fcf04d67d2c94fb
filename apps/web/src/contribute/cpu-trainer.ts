import { type ParamMap, adamwStep, backward, createAdamW, expertTensorNames, forward } from '@blyan/model';
import { expertSlotName, slotParams } from '@blyan/model/blocks';
import type { ExpertTrainer, TrainSettings } from './expert-trainer.ts';
import type { FrozenModel, LoadedBlock } from './frozen-model.ts';

/**
 * The fallback without WebGPU: the CPU reference's forward, backward and AdamW on one expert. The
 * reference's training forward needs every parameter, so the whole model is fetched.
 */
export async function cpuTrainer(model: FrozenModel, layer: number, expert: number, base: LoadedBlock, s: TrainSettings): Promise<ExpertTrainer> {
  const params: ParamMap = {};
  const trained = model.plan(expertSlotName(layer, expert));
  for (const plan of model.slots.values()) {
    if (plan !== trained) Object.assign(params, slotParams(plan, (await model.head(plan.name)).payload));
  }
  Object.assign(params, slotParams(trained, base.payload));
  const names = Object.values(expertTensorNames(layer, expert));
  const start = Object.fromEntries(names.map((n) => [n, params[n]!.slice()]));
  const opt = createAdamW(params, model.config, names);
  return {
    backend: 'cpu',
    async microStep(inputs, targets) {
      const acts = forward(params, model.config, inputs, targets, s.batch, s.seqLen);
      adamwStep(opt, params, backward(params, model.config, acts), s.adamw);
      return acts.loss;
    },
    async change() {
      return Object.fromEntries(names.map((n) => [n, params[n]!.map((v, i) => v - start[n]![i]!)]));
    },
    destroy: () => {},
  };
}

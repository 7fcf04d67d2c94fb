import { BlyanEngine } from '@blyan/gpu';
import { MissingExpertError, expertTensorNames } from '@blyan/model';
import { expertSlotName, slotTensors } from '@blyan/model/blocks';
import type { ExpertTrainer, TrainSettings } from './expert-trainer.ts';
import type { FrozenModel, LoadedBlock } from './frozen-model.ts';

function expertTensors(model: FrozenModel, slot: string, block: LoadedBlock) {
  const plan = model.plan(slot);
  const tensors = slotTensors(plan, block.payload);
  const [w1, w3, w2] = plan.tensors.map((t) => tensors[t.name]!);
  return { w1: w1!, w3: w3!, w2: w2! };
}

/**
 * The engine's Trainer (@blyan/gpu) on one expert: the dense blocks and the trained expert's base
 * are uploaded first; any other expert a micro-step routes to is fetched (current head, verified)
 * and the micro-step runs again, so only the frozen experts the shard needs are downloaded.
 */
export async function gpuTrainer(device: GPUDevice, model: FrozenModel, layer: number, expert: number, base: LoadedBlock, s: TrainSettings): Promise<ExpertTrainer> {
  const engine = await BlyanEngine.create(device, model.config);
  try {
    for (const plan of model.slots.values()) if (plan.type !== 'expert') engine.load(slotTensors(plan, (await model.head(plan.name)).payload));
    engine.addExpert(layer, expert, expertTensors(model, expertSlotName(layer, expert), base));
    const trainer = await engine.createTrainer({ layer, expert, batch: s.batch, seqLen: s.seqLen, adamw: s.adamw });
    const names = expertTensorNames(layer, expert);
    return {
      backend: 'webgpu',
      async microStep(inputs, targets) {
        for (;;) {
          try {
            const { loss } = await trainer.microStep(inputs, targets);
            await trainer.step();
            return loss;
          } catch (e) {
            if (!(e instanceof MissingExpertError)) throw e;
            const slot = expertSlotName(e.layer, e.expert);
            engine.addExpert(e.layer, e.expert, expertTensors(model, slot, await model.head(slot)));
          }
        }
      },
      async change() {
        const d = await trainer.exportDelta();
        return { [names.w1]: d.w1, [names.w3]: d.w3, [names.w2]: d.w2 };
      },
      destroy: () => engine.destroy(),
    };
  } catch (e) {
    engine.destroy();
    throw e;
  }
}

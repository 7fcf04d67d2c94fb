import { BlyanEngine } from '@blyan/gpu';
import { MissingExpertError, expertTensorNames } from '@blyan/model';
import { expertSlotName, slotTensors } from '@blyan/model/blocks';
import type { ExpertTrainer, TrainSettings } from './expert-trainer.ts';
import type { FrozenModel, LoadedBlock } from './frozen-model.ts';

/**
 * The engine's Trainer (@blyan/gpu) on one expert: the dense blocks and the trained expert's base
 * are uploaded first; any other expert a micro-step routes to is fetched (current head, verified)
 * and the micro-step runs again, so only the frozen experts the shard needs are downloaded.
 */
export async function gpuTrainer(device: GPUDevice, model: FrozenModel, layer: number, expert: number, base: LoadedBlock, s: TrainSettings): Promise<ExpertTrainer> {
  const engine = await BlyanEngine.create(device, model.config);
  try {
    for (const plan of model.slots.values()) if (plan.type !== 'expert') engine.load(slotTensors(plan, (await model.head(plan.name)).payload));
    // BlyanEngine.load adds an expert block's three tensors to its layer's pool.
    engine.load(slotTensors(model.plan(expertSlotName(layer, expert)), base.payload));
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
            engine.load(slotTensors(model.plan(slot), (await model.head(slot)).payload));
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

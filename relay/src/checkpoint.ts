import { type TensorMap, decodeTensors, encodeTensors } from '@blyan/block';
import { type ModelConfig, parseModelConfig, slotPlan } from './model-config.ts';

/** A model checkpoint: a tensors-v1 file whose `__metadata__.config` is the JSON model config. */
export interface Checkpoint {
  config: ModelConfig;
  tensors: TensorMap;
}

export function encodeCheckpoint({ config, tensors }: Checkpoint): Uint8Array {
  return encodeTensors(tensors, { config: JSON.stringify(config) });
}

/** Decodes and checks a checkpoint: every tensor the config calls for, with its shape, and no others. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { tensors, metadata } = decodeTensors(bytes);
  if (metadata.config === undefined) throw new Error('checkpoint has no __metadata__.config');
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.config);
  } catch (e) {
    throw new Error(`checkpoint config is not JSON: ${(e as Error).message}`);
  }
  const config = parseModelConfig(raw);
  const expected = new Set<string>();
  for (const slot of slotPlan(config)) {
    for (const { name, shape } of slot.tensors) {
      expected.add(name);
      const t = tensors[name];
      if (!t) throw new Error(`checkpoint lacks tensor ${name}`);
      if (t.shape.join(',') !== shape.join(',')) throw new Error(`tensor ${name} has shape [${t.shape.join(', ')}], config says [${shape.join(', ')}]`);
    }
  }
  for (const name of Object.keys(tensors)) if (!expected.has(name)) throw new Error(`checkpoint has unexpected tensor ${name}`);
  return { config, tensors };
}

import type { TensorMap } from '@blyan/block';
import { type Checkpoint, encodeCheckpoint } from './checkpoint.ts';
import { type ModelConfig, slotPlan } from './model-config.ts';

/** What `blyan serve` starts from when it has no checkpoint: tiny, so the product runs at once. */
export const SMALL_MODEL: ModelConfig = {
  vocabSize: 4096,
  dModel: 64,
  nLayers: 2,
  nHeads: 4,
  nExperts: 8,
  topK: 2,
  dFF: 128,
  contextLength: 256,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.01,
};

/** mulberry32: a small deterministic PRNG, so a seed always gives the same checkpoint. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Randomly initialized weights: norms 1, everything else N(0, 0.02²) (Box–Muller). */
export function randomCheckpoint(config: ModelConfig, seed = 1): Uint8Array {
  const next = uniform(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const tensors: TensorMap = {};
  for (const slot of slotPlan(config)) {
    for (const { name, shape } of slot.tensors) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('_norm')) data.fill(1);
      else for (let i = 0; i < data.length; i++) data[i] = normal() * 0.02;
      tensors[name] = { dtype: 'f32', shape, data };
    }
  }
  const checkpoint: Checkpoint = { config, tensors };
  return encodeCheckpoint(checkpoint);
}

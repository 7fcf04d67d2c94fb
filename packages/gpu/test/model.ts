import { type TensorMap, decodeTensors, encodeTensors, quantizeInt8, toF32 } from '@blyan/block';
import { type ModelConfig, type ParamMap, initParams, parameterShapes } from '@blyan/model';

/**
 * A random model for the engine tests: the reference's initialization with matrices scaled up so
 * that logits and router choices are well separated (greedy decoding is then decided by margins
 * far above float rounding). Experts are quantized to int8; `params` holds what the CPU reference
 * runs (their dequantized values), `tensors` the decoded tensors-v1 views the engine loads.
 */
export function randomModel(cfg: ModelConfig, seed: number, scale = 8): { params: ParamMap; tensors: TensorMap } {
  const params = initParams(cfg, seed);
  const tensors: TensorMap = {};
  for (const { name, shape: readonlyShape } of parameterShapes(cfg)) {
    const value = params[name]!;
    const shape = [...readonlyShape];
    if (!name.endsWith('_norm')) for (let i = 0; i < value.length; i++) value[i] = value[i]! * scale;
    if (name.includes('.experts.')) {
      const q = quantizeInt8(value, shape);
      tensors[name] = q;
      params[name] = toF32(q);
    } else tensors[name] = { dtype: 'f32', shape, data: value };
  }
  return { params, tensors: decodeTensors(encodeTensors(tensors)).tensors };
}

export const TINY: ModelConfig = { vocabSize: 64, dModel: 32, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 48, contextLength: 24, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };

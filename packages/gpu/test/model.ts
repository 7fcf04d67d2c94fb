import { type TensorMap, decodeTensors, encodeTensors, quantizeInt8, toF32 } from '@blyan/block';
import { type ModelConfig, type ParamMap, Rng, expertTensorNames, initParams, parameterShapes } from '@blyan/model';
import { growModel } from '@blyan/model/grow';

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

/**
 * randomModel grown by `sources[l].length` experts per layer (@blyan/model/grow growModel: the new
 * experts are their sources' int8 tensors), the new router rows then drawn at the scale of the old
 * ones, as training might leave them, so that tokens route to the new experts.
 */
export function grownRandomModel(cfg: ModelConfig, seed: number, sources: readonly (readonly number[])[], scale = 8): { config: ModelConfig; params: ParamMap; tensors: TensorMap } {
  const base = randomModel(cfg, seed, scale);
  const grown = growModel({ config: cfg, params: base.params }, sources);
  const params: ParamMap = { ...grown.params };
  const tensors: TensorMap = { ...base.tensors };
  const rng = new Rng(seed + 1);
  for (const [l, list] of sources.entries()) {
    const router = params[`layers.${l}.router`]!.slice();
    for (let i = cfg.nExperts * cfg.dModel; i < router.length; i++) router[i] = 0.02 * scale * rng.normal();
    params[`layers.${l}.router`] = router;
    tensors[`layers.${l}.router`] = { dtype: 'f32', shape: [grown.config.nExperts, cfg.dModel], data: router };
    for (const [i, source] of list.entries()) {
      const [from, to] = [expertTensorNames(l, source), expertTensorNames(l, cfg.nExperts + i)];
      for (const w of ['w1', 'w3', 'w2'] as const) tensors[to[w]] = base.tensors[from[w]]!;
    }
  }
  return { config: grown.config, params, tensors };
}

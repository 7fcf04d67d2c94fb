import type { Tensor } from '@blyan/block';
import { toF32 } from '@blyan/block';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { parameterShapes, sameShape } from '../reference/params.ts';

/** `params` as f32 tensors named `prefix + name`, shaped by parameterShapes. */
export function paramsToTensors(params: ParamMap, cfg: ModelConfig, prefix = ''): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const { name, shape } of parameterShapes(cfg)) {
    const data = params[name];
    if (data === undefined) throw new Error(`missing parameter "${name}"`);
    out[prefix + name] = { dtype: 'f32', shape: [...shape], data };
  }
  return out;
}

/**
 * The parameters of `cfg` read from `tensors[prefix + name]` as f32, throwing an Error (prefixed by
 * `where`) naming the first missing or wrongly shaped tensor. Other names are left to the caller.
 */
export function tensorsToParams(tensors: Readonly<Record<string, Tensor>>, cfg: ModelConfig, where: string, prefix = ''): ParamMap {
  const params: ParamMap = {};
  for (const { name, shape } of parameterShapes(cfg)) {
    const t = tensors[prefix + name];
    if (t === undefined) throw new Error(`${where}: missing tensor "${prefix + name}" of shape [${shape.join(', ')}]`);
    if (!sameShape(t.shape, shape)) {
      throw new Error(`${where}: tensor "${prefix + name}" has shape [${t.shape.join(', ')}] but the config needs [${shape.join(', ')}]`);
    }
    params[name] = toF32(t);
  }
  return params;
}

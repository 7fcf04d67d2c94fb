import { quantizeInt8, toF32 } from '@blyan/block';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { expertTensorNames, parameterShapes } from '../reference/params.ts';

/**
 * The parameters with every expert weight as a client gets it from an int8 expert block:
 * quantized with one scale per output row, then multiplied back out to f32. The rest is untouched.
 */
export function withInt8Experts(params: ParamMap, cfg: ModelConfig): ParamMap {
  const experts = new Set<string>();
  for (let l = 0; l < cfg.nLayers; l++) for (let e = 0; e < cfg.nExperts; e++) for (const n of Object.values(expertTensorNames(l, e))) experts.add(n);
  const out: ParamMap = { ...params };
  for (const { name, shape } of parameterShapes(cfg)) {
    const w = params[name];
    if (w !== undefined && experts.has(name)) out[name] = toF32(quantizeInt8(w, [...shape]));
  }
  return out;
}

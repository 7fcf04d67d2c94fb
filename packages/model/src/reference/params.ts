import { type FloatArray, type ParamMap } from './arrays.ts';
import type { LayerWeights } from './block.ts';
import type { ModelConfig } from './config.ts';
import { Rng } from './rng.ts';

/** One parameter tensor: its name and row-major shape (matrices are [out, in]). */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

export function expertTensorNames(layer: number, expert: number): { w1: string; w3: string; w2: string } {
  const p = `layers.${layer}.experts.${expert}`;
  return { w1: `${p}.w1`, w3: `${p}.w3`, w2: `${p}.w2` };
}

/** Every parameter of the model, in a fixed order (the order initParams draws them in). */
export function parameterShapes(cfg: ModelConfig): ParamSpec[] {
  const { vocabSize: V, dModel: d, dFF: F, nExperts: E } = cfg;
  const specs: ParamSpec[] = [{ name: 'embed', shape: [V, d] }];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `layers.${l}`;
    specs.push(
      { name: `${p}.attn_norm`, shape: [d] },
      { name: `${p}.wq`, shape: [d, d] },
      { name: `${p}.wk`, shape: [d, d] },
      { name: `${p}.wv`, shape: [d, d] },
      { name: `${p}.wo`, shape: [d, d] },
      { name: `${p}.ffn_norm`, shape: [d] },
      { name: `${p}.router`, shape: [E, d] },
    );
    for (let e = 0; e < E; e++) {
      const names = expertTensorNames(l, e);
      specs.push({ name: names.w1, shape: [F, d] }, { name: names.w3, shape: [F, d] }, { name: names.w2, shape: [d, F] });
    }
  }
  specs.push({ name: 'final_norm', shape: [d] });
  return specs;
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

const INIT_STD = 0.02;
const isNorm = (name: string): boolean => name.endsWith('_norm');
const isOutputProjection = (name: string): boolean => name.endsWith('.wo') || name.endsWith('.w2');

/**
 * Deterministic initialization from `seed`: norms = 1; every matrix ~ N(0, 0.02²), except the
 * projections back into the residual stream (wo and each expert's w2), whose std is scaled by
 * 1/sqrt(2 · nLayers) as in GPT-2. One Rng stream draws the tensors in parameterShapes order.
 */
export function initParams(cfg: ModelConfig, seed: number): ParamMap {
  const rng = new Rng(seed);
  const params: ParamMap = {};
  for (const { name, shape } of parameterShapes(cfg)) {
    const t = new Float32Array(elementCount(shape));
    if (isNorm(name)) t.fill(1);
    else {
      const std = isOutputProjection(name) ? INIT_STD / Math.sqrt(2 * cfg.nLayers) : INIT_STD;
      for (let i = 0; i < t.length; i++) t[i] = rng.normal() * std;
    }
    params[name] = t;
  }
  return params;
}

/**
 * Throws an Error naming the first problem: a missing, unknown, non-float or wrongly sized tensor,
 * or tensors mixing float32 and float64. With experts = 'present', an expert's three tensors may
 * be absent together (a client that downloaded only some experts), but not one or two of them.
 */
export function validateParams(params: Readonly<Record<string, unknown>>, cfg: ModelConfig, experts: 'all' | 'present'): void {
  const specs = parameterShapes(cfg);
  const known = new Set(specs.map((s) => s.name));
  for (const name of Object.keys(params)) if (!known.has(name)) throw new Error(`unexpected parameter "${name}"`);
  const embed = params.embed;
  const kind = embed instanceof Float64Array ? Float64Array : Float32Array;
  for (const { name, shape } of specs) {
    const t = params[name];
    if (t === undefined) {
      if (experts === 'present' && name.includes('.experts.')) continue;
      throw new Error(`missing parameter "${name}" of shape [${shape.join(', ')}]`);
    }
    if (!(t instanceof Float32Array || t instanceof Float64Array)) throw new Error(`parameter "${name}" must be a Float32Array or Float64Array`);
    if (!(t instanceof kind)) throw new Error(`parameter "${name}" is a ${t.constructor.name} but embed is a ${kind.name}: all parameters must share one type`);
    const n = elementCount(shape);
    if (t.length !== n) throw new Error(`parameter "${name}" has ${t.length} elements but its shape [${shape.join(', ')}] needs ${n}`);
  }
  for (let l = 0; l < cfg.nLayers; l++) {
    for (let e = 0; e < cfg.nExperts; e++) {
      const names = Object.values(expertTensorNames(l, e));
      const missing = names.filter((n) => params[n] === undefined);
      if (missing.length > 0 && missing.length < names.length) throw new Error(`expert layers.${l}.experts.${e} is incomplete: missing ${missing.join(', ')}`);
    }
  }
}

/** The tensors of layer `layer`, by role; an expert whose tensors are absent is null. */
export function layerWeights<A extends FloatArray>(params: ParamMap<A>, cfg: ModelConfig, layer: number): LayerWeights<A> {
  const get = (name: string): A => {
    const t = params[name];
    if (t === undefined) throw new Error(`missing parameter "${name}"`);
    return t;
  };
  const p = `layers.${layer}`;
  const experts = Array.from({ length: cfg.nExperts }, (_, e) => {
    const names = expertTensorNames(layer, e);
    return params[names.w1] === undefined ? null : { w1: get(names.w1), w3: get(names.w3), w2: get(names.w2) };
  });
  return {
    attnNorm: get(`${p}.attn_norm`),
    wq: get(`${p}.wq`),
    wk: get(`${p}.wk`),
    wv: get(`${p}.wv`),
    wo: get(`${p}.wo`),
    ffnNorm: get(`${p}.ffn_norm`),
    moe: { router: get(`${p}.router`), experts },
  };
}

import { type FloatArray, type ParamMap, zerosLike } from './arrays.ts';
import type { ModelConfig } from './config.ts';
import { parameterShapes } from './params.ts';

export interface AdamWOptions {
  readonly lr: number;
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.95. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly eps?: number;
  /** Decoupled weight decay, applied to 2-D weight matrices only (not norms). Default 0.1. */
  readonly weightDecay?: number;
  /** Gradients are scaled down so that their global L2 norm is at most this. Default 1. */
  readonly maxGradNorm?: number;
}

/** Every AdamW setting but the learning rate. */
export type AdamWSettings = Required<Omit<AdamWOptions, 'lr'>>;

/** The settings adamwStep uses where AdamWOptions leaves them out; the ONNX training graph's too. */
export const ADAMW_DEFAULTS: AdamWSettings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };

/** Moments of the trainable parameters; the others stay frozen. */
export interface AdamW<A extends FloatArray = Float32Array> {
  readonly trainable: readonly string[];
  /** Per trainable tensor with frozen leading rows, how many leading elements stay as they are. */
  readonly frozen: ReadonlyMap<string, number>;
  readonly decayed: ReadonlySet<string>;
  readonly m: ParamMap<A>;
  readonly v: ParamMap<A>;
  step: number;
}

/** Per tensor of `frozenRows` (name → leading rows that stay frozen), the number of leading elements those rows hold. */
export function frozenPrefixes(cfg: ModelConfig, frozenRows: Readonly<Record<string, number>> = {}): Map<string, number> {
  const shapes = new Map(parameterShapes(cfg).map((s) => [s.name, s.shape]));
  const out = new Map<string, number>();
  for (const [name, rows] of Object.entries(frozenRows)) {
    const shape = shapes.get(name);
    if (shape === undefined) throw new Error(`cannot freeze rows of "${name}": no such parameter`);
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > shape[0]!) throw new Error(`cannot freeze ${rows} rows of "${name}" [${shape.join(', ')}]`);
    out.set(name, rows * shape.slice(1).reduce((a, b) => a * b, 1));
  }
  return out;
}

/**
 * Optimizer state for `trainable` (default: every parameter), e.g. the three tensors of one expert
 * to fine-tune it alone; `frozenRows` keeps leading rows of trainable tensors as they are (a grown
 * model's old router rows: grow/grow.ts growthTraining).
 */
export function createAdamW<A extends FloatArray>(params: ParamMap<A>, cfg: ModelConfig, trainable?: readonly string[], frozenRows?: Readonly<Record<string, number>>): AdamW<A> {
  const specs = parameterShapes(cfg);
  const names = trainable ? [...new Set(trainable)] : specs.map((s) => s.name);
  const m: ParamMap<A> = {};
  const v: ParamMap<A> = {};
  for (const name of names) {
    const p = params[name];
    if (p === undefined) throw new Error(`cannot train "${name}": no such parameter`);
    m[name] = zerosLike(p, p.length);
    v[name] = zerosLike(p, p.length);
  }
  const frozen = frozenPrefixes(cfg, frozenRows);
  for (const name of frozen.keys()) if (!(name in m)) throw new Error(`cannot freeze rows of "${name}": it is not trained`);
  const decayed = new Set(specs.filter((s) => s.shape.length === 2).map((s) => s.name));
  return { trainable: names, frozen, decayed, m, v, step: 0 };
}

/**
 * One AdamW step on the trainable parameters, in place, skipping every frozen element (its
 * parameter and moments keep their bytes; its gradient counts as zero): clip by global norm (over
 * the trainable gradients), then m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², and
 * p ← p − lr · (m̂ / (sqrt(v̂) + eps) + weightDecay · p) with bias-corrected m̂, v̂.
 * Returns the global gradient norm before clipping.
 */
export function adamwStep<A extends FloatArray>(opt: AdamW<A>, params: ParamMap<A>, grads: ParamMap<A>, options: AdamWOptions): { gradNorm: number } {
  const {
    lr,
    beta1 = ADAMW_DEFAULTS.beta1,
    beta2 = ADAMW_DEFAULTS.beta2,
    eps = ADAMW_DEFAULTS.eps,
    weightDecay = ADAMW_DEFAULTS.weightDecay,
    maxGradNorm = ADAMW_DEFAULTS.maxGradNorm,
  } = options;
  const get = (map: ParamMap<A>, name: string, what: string): A => {
    const t = map[name];
    if (t === undefined) throw new Error(`adamwStep: no ${what} for "${name}"`);
    return t;
  };
  let ss = 0;
  for (const name of opt.trainable) {
    const g = get(grads, name, 'gradient');
    for (let i = opt.frozen.get(name) ?? 0; i < g.length; i++) ss += g[i]! * g[i]!;
  }
  const gradNorm = Math.sqrt(ss);
  const scale = gradNorm > maxGradNorm ? maxGradNorm / gradNorm : 1;
  opt.step++;
  const c1 = 1 - Math.pow(beta1, opt.step);
  const c2 = 1 - Math.pow(beta2, opt.step);
  for (const name of opt.trainable) {
    const p = get(params, name, 'parameter');
    const g = get(grads, name, 'gradient');
    const m = get(opt.m, name, 'first moment');
    const v = get(opt.v, name, 'second moment');
    const wd = opt.decayed.has(name) ? weightDecay : 0;
    for (let i = opt.frozen.get(name) ?? 0; i < p.length; i++) {
      const gi = g[i]! * scale;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i]! - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + wd * p[i]!);
    }
  }
  return { gradNorm };
}

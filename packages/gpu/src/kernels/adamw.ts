import { type KernelSpec, kernelSpec, main1d, read, readWrite, uniform } from '../kernel.ts';
import { REDUCE_WGSL } from '../wgsl.ts';

/** AdamW hyperparameters and this step's bias corrections, as the kernels read them. */
const ADAM = uniform(
  'adam',
  'AdamW',
  /* wgsl */ `
struct AdamW {
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  maxGradNorm: f32,
  c1: f32,
  c2: f32,
  gradScale: f32,
}`,
);

export const ADAMW_BYTES = 48;

export interface AdamWUniform {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  /** 1 − β1^step and 1 − β2^step. */
  readonly c1: number;
  readonly c2: number;
  /** Factor on the accumulated gradient: 1 / micro-steps (their mean). */
  readonly gradScale: number;
}

export function encodeAdamW(a: AdamWUniform): ArrayBuffer {
  return new Float32Array([a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.maxGradNorm, a.c1, a.c2, a.gradScale, 0, 0, 0]).buffer;
}

/** Global L2 norm of gradScale · grad over `elements` values, one workgroup: norm[0]. */
export function gradNormKernel(elements: number): KernelSpec {
  return kernelSpec(
    `grad norm ${elements}`,
    [ADAM, read('grad'), readWrite('norm')],
    /* wgsl */ `
${REDUCE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  for (var i = lid; i < ${elements}u; i += 64u) {
    let g = grad[i] * adam.gradScale;
    ss += g * g;
  }
  ss = reduce_sum(lid, ss);
  if (lid == 0u) { norm[0] = sqrt(ss); }
}`,
  );
}

/**
 * One AdamW step per element, as the reference's adamwStep: the gradient gradScale · grad is
 * clipped to global norm maxGradNorm, then m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
 * p ← p − lr (m / c1 / (sqrt(v / c2) + eps) + weightDecay · p).
 */
export function adamwKernel(elements: number): KernelSpec {
  return kernelSpec(
    `adamw ${elements}`,
    [ADAM, read('grad'), read('norm'), readWrite('param'), readWrite('m'), readWrite('v')],
    main1d(`${elements}u`, /* wgsl */ `
  let total = norm[0];
  let clip = select(1.0, adam.maxGradNorm / total, total > adam.maxGradNorm);
  let g = grad[i] * adam.gradScale * clip;
  let mi = adam.beta1 * m[i] + (1.0 - adam.beta1) * g;
  let vi = adam.beta2 * v[i] + (1.0 - adam.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let p = param[i];
  param[i] = p - adam.lr * (mi / adam.c1 / (sqrt(vi / adam.c2) + adam.eps) + adam.weightDecay * p);`),
  );
}

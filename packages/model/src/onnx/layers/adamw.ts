import type { AdamWSettings } from '../../reference/adamw.ts';
import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';

/** One trainable tensor: its value, gradient, moments, and whether weight decay applies (2-D weights). */
export interface AdamWSlot {
  readonly param: Value;
  readonly grad: Value;
  readonly m: Value;
  readonly v: Value;
  readonly decay: boolean;
}

export interface AdamWUpdate {
  readonly param: Value;
  readonly m: Value;
  readonly v: Value;
}

/** The global L2 norm of the gradients (a scalar). */
export function globalNorm(g: Graph, grads: readonly Value[]): Value {
  return g.sqrt(g.sum(grads.map((grad) => g.sumSquares(grad))));
}

/**
 * The reference's adamwStep: with the clipping factor s = min(1, maxGradNorm / norm) and
 * c1 = 1 − β1^step, c2 = 1 − β2^step (`step` counts from 1),
 *   m ← β1 m + (1−β1) s g,  v ← β2 v + (1−β2) s² g²,
 *   p ← p − lr (m / c1 / (sqrt(v / c2) + eps) + wd · p).
 * Memory traffic dominates, so the scalars are folded together first and each tensor takes 13
 * elementwise ops: p ← p · (1 − lr · wd) − (lr · sqrt(c2) / c1) · m / (sqrt(v) + eps · sqrt(c2)).
 */
export function adamwUpdate(g: Graph, slots: readonly AdamWSlot[], norm: Value, step: Value, lr: Value, hp: AdamWSettings): AdamWUpdate[] {
  const one = g.scalar(1);
  const max = g.scalar(hp.maxGradNorm);
  const clip = g.where(g.greater(norm, max), g.div(max, norm), one);
  const c1 = g.sub(one, g.pow(g.scalar(hp.beta1), step));
  const rootC2 = g.sqrt(g.sub(one, g.pow(g.scalar(hp.beta2), step)));
  const gradToM = g.mul(clip, g.scalar(1 - hp.beta1));
  const squareToV = g.mul(g.mul(clip, clip), g.scalar(1 - hp.beta2));
  const epsilon = g.mul(rootC2, g.scalar(hp.eps));
  const stepSize = g.div(g.mul(lr, rootC2), c1);
  const keep = g.sub(one, g.mul(lr, g.scalar(hp.weightDecay)));
  return slots.map((s) => {
    const m = g.add(g.mul(s.m, g.scalar(hp.beta1)), g.mul(s.grad, gradToM));
    const v = g.add(g.mul(s.v, g.scalar(hp.beta2)), g.mul(g.mul(s.grad, s.grad), squareToV));
    const update = g.mul(g.div(m, g.add(g.sqrt(v), epsilon)), stepSize);
    return { param: g.sub(s.decay ? g.mul(s.param, keep) : s.param, update), m, v };
  });
}

import { type AdamWSettings, frozenPrefixes } from '../reference/adamw.ts';
import { type ModelConfig, validateConfig } from '../reference/config.ts';
import { type ParamSpec, parameterShapes } from '../reference/params.ts';
import type { Value } from './graph-builder.ts';
import { Graph } from './graph-ops.ts';
import { adamwUpdate, globalNorm } from './layers/adamw.ts';
import { modelBackward, modelForward } from './model-graph.ts';
import { declareModelInputs } from './model-inputs.ts';
import { AUX, CE, GRAD_NORM, LOCALITY, LOSS, LR, STEP, firstMomentName, gradName, nextName, secondMomentName } from './names.ts';

/** The parameters to train (default: all), in parameterShapes order; throws on an unknown name. */
export function trainableSpecs(cfg: ModelConfig, trainable?: readonly string[]): ParamSpec[] {
  const specs = parameterShapes(cfg);
  if (trainable === undefined) return specs;
  const known = new Set(specs.map((s) => s.name));
  for (const name of trainable) if (!known.has(name)) throw new Error(`cannot train "${name}": no such parameter`);
  const wanted = new Set(trainable);
  return specs.filter((s) => wanted.has(s.name));
}

/**
 * Forward and backward pass without an optimizer: the model inputs in, loss, ce, aux and
 * grad.NAME for each trainable parameter (default: all) out.
 */
export function buildGradientGraph(cfg: ModelConfig, trainable?: readonly string[]): Uint8Array {
  validateConfig(cfg);
  const specs = trainableSpecs(cfg, trainable);
  const g = new Graph('blyan_gradients');
  const inputs = declareModelInputs(g, cfg);
  const fwd = modelForward(g, cfg, inputs);
  const grads = modelBackward(g, fwd, new Set(specs.map((s) => s.name)));
  for (const { name, shape } of specs) g.output(grads.get(name)!, gradName(name), 'float32', shape);
  g.output(fwd.loss, LOSS, 'float32', []);
  g.output(fwd.ce, CE, 'float32', []);
  g.output(fwd.aux, AUX, 'float32', []);
  if (fwd.locality) g.output(fwd.locality, LOCALITY, 'float32', []);
  return g.toBytes();
}

/**
 * One training step: forward, backward, clipping by global gradient norm and AdamW on the trainable
 * parameters (default: all; the rest stay frozen, and their gradients are not computed), the AdamW
 * settings baked in. Extra inputs: adam_m.NAME and adam_v.NAME per trainable parameter, step and lr
 * (float scalars). `frozenRows` (name → leading rows) keeps leading rows of trainable tensors as
 * they are, as the reference's createAdamW does: their gradients count as zero and their parameters
 * and moments pass through unchanged.
 * Outputs: next.NAME, next.adam_m.NAME, next.adam_v.NAME, loss, ce, aux and grad_norm (before clipping).
 */
export function buildTrainGraph(cfg: ModelConfig, hyper: AdamWSettings, trainable?: readonly string[], frozenRows?: Readonly<Record<string, number>>): Uint8Array {
  validateConfig(cfg);
  const specs = trainableSpecs(cfg, trainable);
  const frozen = frozenPrefixes(cfg, frozenRows);
  for (const name of frozen.keys()) if (!specs.some((s) => s.name === name)) throw new Error(`cannot freeze rows of "${name}": it is not trained`);
  const g = new Graph('blyan_train_step');
  const inputs = declareModelInputs(g, cfg);
  const moments = specs.map(({ name, shape }) => ({
    m: g.input(firstMomentName(name), 'float32', shape),
    v: g.input(secondMomentName(name), 'float32', shape),
  }));
  const step = g.input(STEP, 'float32', []);
  const lr = g.input(LR, 'float32', []);
  const fwd = modelForward(g, cfg, inputs);
  const grads = modelBackward(g, fwd, new Set(specs.map((s) => s.name)));
  const live = new Map(specs.filter((s) => (frozen.get(s.name) ?? 0) > 0).map(({ name, shape }) => [name, trainedElements(g, shape, frozen.get(name)!)]));
  /** Each trained gradient, masked once where rows are frozen (the norm and the update share it). */
  const masked = new Map(specs.map(({ name }) => [name, live.has(name) ? g.mul(grads.get(name)!, live.get(name)!) : grads.get(name)!]));
  const gradOf = (name: string) => masked.get(name)!;
  const norm = globalNorm(g, specs.map((s) => gradOf(s.name)));
  const slots = specs.map(({ name, shape }, i) => ({ param: inputs.param(name), grad: gradOf(name), ...moments[i]!, decay: shape.length === 2 }));
  const updates = adamwUpdate(g, slots, norm, step, lr, hyper).map((u, i) => {
    const mask = live.get(specs[i]!.name);
    if (mask === undefined) return u;
    const keep = g.greater(mask, g.scalar(0.5));
    const slot = slots[i]!;
    return { param: g.where(keep, u.param, slot.param), m: g.where(keep, u.m, slot.m), v: g.where(keep, u.v, slot.v) };
  });
  for (const [i, { name, shape }] of specs.entries()) {
    const u = updates[i]!;
    g.output(u.param, nextName(name), 'float32', shape);
    g.output(u.m, nextName(firstMomentName(name)), 'float32', shape);
    g.output(u.v, nextName(secondMomentName(name)), 'float32', shape);
  }
  g.output(fwd.loss, LOSS, 'float32', []);
  g.output(fwd.ce, CE, 'float32', []);
  g.output(fwd.aux, AUX, 'float32', []);
  g.output(norm, GRAD_NORM, 'float32', []);
  if (fwd.locality) g.output(fwd.locality, LOCALITY, 'float32', []);
  return g.toBytes();
}

/** A constant of the tensor's shape: 0 on its first `frozen` elements, 1 on the rest. */
function trainedElements(g: Graph, shape: readonly number[], frozen: number): Value {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1, frozen);
  return g.initializer('float32', values, shape);
}

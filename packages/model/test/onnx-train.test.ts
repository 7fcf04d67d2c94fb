/**
 * The generated ONNX gradient and training-step graphs against the reference's backward and
 * adamwStep. Tolerances: per tensor, max |difference| ≤ 1e-4 × max |reference| for gradients and
 * Adam moments, gradient norm and losses to a relative 1e-5 (every case here also passes at 1e-5
 * and 1e-6); each parameter's step p_new − p_old to within 2e-3 × lr (observed ≤ 3.3e-4 × lr):
 * Adam divides every gradient element by its own magnitude, so float32 noise in elements as small
 * as eps is amplified.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxModel } from '../src/onnx/index.ts';
import { type AdamWOptions, type ModelConfig, type ParamMap, Rng, adamwStep, backward, createAdamW, expertTensorNames, forward } from '../src/reference/index.ts';
import { expectClose, expectScalar, maxAbsDiff, randomParams } from './compare.ts';

const TOL = 1e-4;
const SCALAR_TOL = 1e-5;
const UPDATE_TOL = 2e-3;

const delta = (after: Float32Array, before: Float32Array): Float64Array => Float64Array.from(after, (x, i) => x - before[i]!);

const CFG: ModelConfig = { vocabSize: 37, dModel: 12, nLayers: 2, nHeads: 3, nExperts: 5, topK: 2, dFF: 7, contextLength: 9, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.05 };
const [B, T] = [2, 9];

function randomBatch(seed: number): { tokens: number[]; targets: number[]; B: number; T: number } {
  const rng = new Rng(seed);
  const ids = (): number[] => Array.from({ length: B * T }, () => rng.nextUint32() % CFG.vocabSize);
  return { tokens: ids(), targets: ids(), B, T };
}

const clone = (params: ParamMap): ParamMap => Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.slice()]));

const model = OnnxModel.create(CFG);
afterAll(() => model.dispose());

/** Runs `steps` training steps through ONNX and the reference from the same start; compares every tensor after each. */
async function compareTraining(seed: number, options: AdamWOptions, steps: number, trainable?: readonly string[]): Promise<ParamMap> {
  const start = randomParams(CFG, seed);
  const refParams = clone(start);
  const opt = createAdamW(refParams, CFG, trainable);
  const state = model.createTrainState(clone(start), { ...options, trainable });
  for (let step = 0; step < steps; step++) {
    const batch = randomBatch(seed * 10 + step);
    const before = clone(refParams);
    const acts = forward(refParams, CFG, batch.tokens, batch.targets, B, T);
    const { gradNorm } = adamwStep(opt, refParams, backward(refParams, CFG, acts), options);
    const result = await model.trainStep(state, batch, options.lr);
    expectScalar(result.loss, acts.loss, `step ${step} loss`, SCALAR_TOL);
    expectScalar(result.gradNorm, gradNorm, `step ${step} gradient norm`, SCALAR_TOL);
    expect(state.step).toBe(opt.step);
    for (const name of opt.trainable) {
      const { err } = maxAbsDiff(delta(state.params[name]!, before[name]!), delta(refParams[name]!, before[name]!));
      expect(err, `step ${step} update of ${name}`).toBeLessThanOrEqual(UPDATE_TOL * options.lr);
      expectClose(state.m[name]!, opt.m[name]!, `step ${step} m of ${name}`, TOL);
      expectClose(state.v[name]!, opt.v[name]!, `step ${step} v of ${name}`, TOL);
    }
  }
  return state.params;
}

describe('ONNX gradient graph', () => {
  it("matches the reference's backward for every parameter", async () => {
    const params = randomParams(CFG, 1);
    const batch = randomBatch(2);
    const acts = forward(params, CFG, batch.tokens, batch.targets, B, T);
    const expected = backward(params, CFG, acts);
    const actual = await model.gradients(params, batch);
    expect(Object.keys(actual.grads).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, grad] of Object.entries(expected)) expectClose(actual.grads[name]!, grad, name, TOL);
    expectScalar(actual.loss, acts.loss, 'loss', SCALAR_TOL);
  });

  it('computes only the gradients asked for', async () => {
    const params = randomParams(CFG, 3);
    const batch = randomBatch(4);
    const expected = backward(params, CFG, forward(params, CFG, batch.tokens, batch.targets, B, T));
    const names = ['layers.1.experts.2.w2', 'layers.1.router', 'final_norm'];
    const actual = await model.gradients(params, batch, undefined, names);
    expect(Object.keys(actual.grads)).toEqual(['layers.1.router', 'layers.1.experts.2.w2', 'final_norm']);
    for (const name of names) expectClose(actual.grads[name]!, expected[name]!, name, TOL);
  });

  it('with expert masks, gives exactly zero gradients to the experts routing may not use', async () => {
    const params = randomParams(CFG, 8);
    const batch = randomBatch(9);
    const allowed = [[1, 4], null];
    const { grads } = await model.gradients(params, batch, allowed);
    for (let e = 0; e < CFG.nExperts; e++) {
      const { w1, w3, w2 } = expertTensorNames(0, e);
      for (const name of [w1, w3, w2]) {
        const norm = grads[name]!.reduce((a, x) => a + x * x, 0);
        if (e === 1 || e === 4) expect(norm, name).toBeGreaterThan(0);
        else expect(norm, name).toBe(0);
      }
    }
  });
});

describe('ONNX training step', () => {
  it('updates every parameter and both moments like backward + adamwStep, with clipping active (3 steps)', async () => {
    await compareTraining(5, { lr: 1e-2, maxGradNorm: 0.5 }, 3);
  });

  it('matches without clipping and with other AdamW settings', async () => {
    await compareTraining(6, { lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.3, maxGradNorm: 1e6 }, 2);
  });

  it("trains a subset (one expert's w1, w3, w2) and leaves every other parameter bit for bit unchanged", async () => {
    const { w1, w3, w2 } = expertTensorNames(0, 3);
    const trainable = [w1, w3, w2];
    const start = randomParams(CFG, 7);
    const after = await compareTraining(7, { lr: 1e-2 }, 2, trainable);
    for (const [name, value] of Object.entries(after)) {
      if (trainable.includes(name)) expect(value, name).not.toEqual(start[name]);
      else expect(value, name).toEqual(start[name]);
    }
  });
});

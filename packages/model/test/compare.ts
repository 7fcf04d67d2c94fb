/** Comparisons and inputs shared by the tests that hold the ONNX graphs against the CPU reference. */
import { expect } from 'vitest';
import { type ModelConfig, type ParamMap, Rng, initParams } from '../src/reference/index.ts';

/** The largest |actual − expected| and the largest |expected| over the elements. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): { err: number; scale: number } {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return { err, scale };
}

/** Same length, and max |actual − expected| ≤ tol × max |expected|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, tol: number): void {
  expect(actual.length, label).toBe(expected.length);
  const { err, scale } = maxAbsDiff(actual, expected);
  expect(err, `${label}: max |difference| ${err} vs max |reference| ${scale}`).toBeLessThanOrEqual(tol * scale);
}

/** |actual − expected| ≤ tol × |expected|. */
export function expectScalar(actual: number, expected: number, label: string, tol: number): void {
  expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol * Math.abs(expected));
}

/** initParams with matrices scaled up 10× and gains drawn around 1, so that routing and attention are far from uniform. */
export function randomParams(cfg: ModelConfig, seed: number): ParamMap {
  const params = initParams(cfg, seed);
  const rng = new Rng(seed + 1000);
  for (const [name, t] of Object.entries(params)) {
    for (let i = 0; i < t.length; i++) t[i] = name.endsWith('_norm') ? 1 + 0.3 * rng.normal() : t[i]! * 10;
  }
  return params;
}

/** A small model with sequence budgets (issue 12) for the ONNX graph tests: six experts, odd widths. */
export const BUDGET_CFG: ModelConfig = {
  vocabSize: 37,
  dModel: 12,
  nLayers: 2,
  nHeads: 3,
  nExperts: 6,
  topK: 2,
  dFF: 7,
  contextLength: 9,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.05,
  sequenceBudgets: { localityLossCoef: 0.3 },
};

/**
 * The generated ONNX forward graph against the CPU reference. Tolerance: per tensor, the largest
 * absolute difference is at most 1e-4 × the largest magnitude in the reference tensor; scalar
 * losses agree to a relative 1e-5 (float32 in ONNX Runtime vs the reference's float32 storage with
 * float64 accumulation: every case here also passes at 1e-5 and 1e-6).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxModel } from '../src/onnx/index.ts';
import { type AllowedSet, type ModelConfig, Rng, forward, prefill } from '../src/reference/index.ts';
import { expectClose, expectScalar, randomParams } from './compare.ts';

const TOL = 1e-4;
const SCALAR_TOL = 1e-5;

function randomTokens(rng: Rng, count: number, vocabSize: number): number[] {
  return Array.from({ length: count }, () => rng.nextUint32() % vocabSize);
}

const base = { topK: 2, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const CASES: { label: string; cfg: ModelConfig; B: number; T: number }[] = [
  { label: 'odd sizes (V 37, d 12, 3 heads of 6, 5 experts, dFF 7)', cfg: { ...base, vocabSize: 37, dModel: 12, nLayers: 2, nHeads: 3, nExperts: 5, dFF: 7, contextLength: 9 }, B: 2, T: 7 },
  { label: 'a single token', cfg: { ...base, vocabSize: 11, dModel: 8, nLayers: 1, nHeads: 2, nExperts: 3, dFF: 5, contextLength: 4 }, B: 1, T: 1 },
  { label: '3 layers, 8 experts, full context', cfg: { ...base, vocabSize: 50, dModel: 16, nLayers: 3, nHeads: 4, nExperts: 8, dFF: 24, contextLength: 16, ropeTheta: 500 }, B: 3, T: 16 },
];

const models: OnnxModel[] = [];
afterAll(async () => {
  for (const m of models) await m.dispose();
});

function modelFor(cfg: ModelConfig): OnnxModel {
  const m = OnnxModel.create(cfg);
  models.push(m);
  return m;
}

describe('ONNX forward graph', () => {
  for (const [i, { label, cfg, B, T }] of CASES.entries()) {
    it(`matches the reference's logits, loss, ce and aux: ${label}`, async () => {
      const params = randomParams(cfg, 10 + i);
      const rng = new Rng(20 + i);
      const batch = { tokens: randomTokens(rng, B * T, cfg.vocabSize), targets: randomTokens(rng, B * T, cfg.vocabSize), B, T };
      const expected = forward(params, cfg, batch.tokens, batch.targets, B, T);
      const actual = await modelFor(cfg).forward(params, batch);
      expectClose(actual.logits, expected.logits, 'logits', TOL);
      expectScalar(actual.loss, expected.loss, 'loss', SCALAR_TOL);
      expectScalar(actual.ce, expected.ce, 'ce', SCALAR_TOL);
      expectScalar(actual.aux, expected.aux, 'aux', SCALAR_TOL);
    });
  }

  it("with expert masks, matches the reference's static routing at every position of every sequence", async () => {
    const { cfg } = CASES[0]!;
    const [B, T] = [2, 9];
    const params = randomParams(cfg, 31);
    const rng = new Rng(32);
    const batch = { tokens: randomTokens(rng, B * T, cfg.vocabSize), targets: randomTokens(rng, B * T, cfg.vocabSize), B, T };
    const allowed: AllowedSet[] = [[0, 2, 4], [1, 3]];
    const model = modelFor(cfg);
    const masked = await model.forward(params, batch, allowed);
    const V = cfg.vocabSize;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const prompt = batch.tokens.slice(b * T, b * T + t + 1);
        const { logits } = prefill(params, cfg, prompt, { mode: 'static', allowed });
        const row = (b * T + t) * V;
        expectClose(masked.logits.subarray(row, row + V), logits, `sequence ${b}, position ${t}`, TOL);
      }
    }
    const dynamic = await model.forward(params, batch);
    expect(Math.abs(dynamic.loss - masked.loss)).toBeGreaterThan(1e-3);
    const allNull = await model.forward(params, batch, [null, null]);
    expect(allNull.logits).toEqual(dynamic.logits);
  });
});

/**
 * Per-sequence expert budgets (issue 12) in the ONNX forward and gradient graphs against the
 * reference: each sequence's sets chosen from its own prompt, the routing within them, the locality
 * loss and every gradient, to the tolerances of onnx-train.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxModel } from '../src/onnx/index.ts';
import { Rng, type SequenceBudget, argmax, backward, forward, greedyDecode } from '../src/reference/index.ts';
import { BUDGET_CFG, expectClose, expectScalar, randomParams } from './compare.ts';

const TOL = 1e-4;
const SCALAR_TOL = 1e-5;

const CFG = BUDGET_CFG;
const [B, T] = [4, 9];
const BUDGETS: SequenceBudget[] = [
  { experts: 2, promptTokens: 3 },
  { experts: 4, promptTokens: 1 },
  { experts: 6, promptTokens: 9 },
  { experts: 3, promptTokens: 5 },
];

function randomBatch(seed: number) {
  const rng = new Rng(seed);
  const ids = (): number[] => Array.from({ length: B * T }, () => rng.nextUint32() % CFG.vocabSize);
  return { tokens: ids(), targets: ids(), B, T };
}

const model = OnnxModel.create(CFG);
afterAll(() => model.dispose());

describe('ONNX graphs with sequence budgets', () => {
  it("route each sequence within its prompt's budget as the reference does: logits, losses and locality", async () => {
    const params = randomParams(CFG, 5);
    const batch = randomBatch(6);
    const acts = forward(params, CFG, batch.tokens, batch.targets, B, T, { budgets: BUDGETS });
    const sets = acts.layers.map(({ acts: a }) => a.moe.budgetSets!.map((s) => s.length));
    expect(sets).toEqual([BUDGETS.map((b) => b.experts), BUDGETS.map((b) => b.experts)]);
    const out = await model.forward(params, { ...batch, budgets: BUDGETS });
    expectClose(out.logits, acts.logits, 'logits', TOL);
    expectScalar(out.ce, acts.ce, 'ce', SCALAR_TOL);
    expectScalar(out.aux, acts.aux, 'aux', SCALAR_TOL);
    expectScalar(out.locality!, acts.locality, 'locality', SCALAR_TOL);
    expectScalar(out.loss, acts.loss, 'loss', SCALAR_TOL);
  });

  it("give the reference's gradient of every parameter, the locality loss's included", async () => {
    const params = randomParams(CFG, 7);
    const batch = randomBatch(8);
    const acts = forward(params, CFG, batch.tokens, batch.targets, B, T, { budgets: BUDGETS });
    const expected = backward(params, CFG, acts);
    const actual = await model.gradients(params, { ...batch, budgets: BUDGETS });
    for (const [name, grad] of Object.entries(expected)) expectClose(actual.grads[name]!, grad, name, TOL);
    expectScalar(actual.loss, acts.loss, 'loss', SCALAR_TOL);
  });

  it('refuse budgets with expert masks, a budget count other than B, and budgets for a model without them', async () => {
    const params = randomParams(CFG, 11);
    const batch = randomBatch(12);
    const masks = [null, [0, 1, 2]];
    await expect(model.forward(params, { ...batch, budgets: BUDGETS }, masks)).rejects.toThrow(/either expert masks .* or sequence budgets, not both/);
    await expect(model.forward(params, { ...batch, budgets: BUDGETS.slice(1) })).rejects.toThrow(/3 sequence budgets for a batch of 4 sequences/);
    const { sequenceBudgets: _, ...v1 } = CFG;
    const plain = OnnxModel.create(v1);
    await expect(plain.forward(randomParams(v1, 13), { ...batch, budgets: BUDGETS })).rejects.toThrow(/has no sequence budgets/);
    await plain.dispose();
  });

  it("decode greedily token for token as the reference's static-prompt routing, the budget's prompt being the prompt", async () => {
    const params = randomParams(CFG, 14);
    const prompt = [3, 17, 8];
    const count = CFG.contextLength - prompt.length;
    for (const m of [2, 4]) {
      const expected = greedyDecode(params, CFG, prompt, count, { mode: 'static-prompt', expertsPerLayer: m }).tokens;
      const tokens = [...prompt];
      while (tokens.length < prompt.length + count) {
        const T = tokens.length;
        const { logits } = await model.forward(params, { tokens, targets: tokens, B: 1, T, budgets: [{ experts: m, promptTokens: prompt.length }] });
        tokens.push(argmax(logits.subarray((T - 1) * CFG.vocabSize)));
      }
      expect(tokens.slice(prompt.length), `${m} of ${CFG.nExperts}`).toEqual(expected);
    }
  });

  it('route dynamically when no budgets are given', async () => {
    const params = randomParams(CFG, 9);
    const batch = randomBatch(10);
    const acts = forward(params, CFG, batch.tokens, batch.targets, B, T);
    const out = await model.forward(params, batch);
    expectClose(out.logits, acts.logits, 'logits', TOL);
    expectScalar(out.loss, acts.loss, 'loss', SCALAR_TOL);
  });
});

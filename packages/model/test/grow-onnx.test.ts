/**
 * A grown model (issue 14) in the ONNX graphs against the CPU reference: logits, gradients and greedy
 * decoding, and training only the new experts and their router rows with everything else frozen
 * (reference adamwStep and the ONNX train graph on onnxruntime-node).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { growModel, growthTraining } from '../src/grow/index.ts';
import { OnnxModel } from '../src/onnx/index.ts';
import { type ModelConfig, type ParamMap, Rng, adamwStep, argmax, backward, createAdamW, expertsUsed, forward, greedyDecode } from '../src/reference/index.ts';
import { BUDGET_CFG, expectClose, expectScalar, randomParams } from './compare.ts';

const TOL = 1e-4;
const BASE = BUDGET_CFG;
const [B, T] = [3, 9];

/** BASE grown by two experts per layer, the new router rows random (as after training) so that tokens route to them. */
function grownModel(seed: number): { config: ModelConfig; params: ParamMap } {
  const grown = growModel({ config: BASE, params: randomParams(BASE, seed) }, [[1, 4], [0, 5]]);
  const rng = new Rng(seed + 1);
  const params = { ...grown.params };
  for (let l = 0; l < BASE.nLayers; l++) {
    const router = params[`layers.${l}.router`]!.slice();
    for (let i = BASE.nExperts * BASE.dModel; i < router.length; i++) router[i] = 0.2 * rng.normal();
    params[`layers.${l}.router`] = router;
  }
  return { config: grown.config, params };
}

function randomBatch(seed: number, vocab: number) {
  const rng = new Rng(seed);
  const ids = (): number[] => Array.from({ length: B * T }, () => rng.nextUint32() % vocab);
  return { tokens: ids(), targets: ids(), B, T };
}

const { config: CFG } = grownModel(1);
const model = OnnxModel.create(CFG);
afterAll(() => model.dispose());

const routedToNew = (experts: Int32Array): boolean => [...experts].some((e) => e >= BASE.nExperts);

describe('a grown model in the ONNX graphs', () => {
  it("gives the reference's logits and loss, new experts routed to", async () => {
    const { params } = grownModel(3);
    const batch = randomBatch(4, CFG.vocabSize);
    const acts = forward(params, CFG, batch.tokens, batch.targets, B, T);
    expect(acts.layers.every(({ acts: a }) => routedToNew(a.moe.experts))).toBe(true);
    const out = await model.forward(params, batch);
    expectClose(out.logits, acts.logits, 'logits', TOL);
    expectScalar(out.loss, acts.loss, 'loss', 1e-5);
  });

  it("gives the reference's gradient of every parameter, under sequence budgets", async () => {
    const { params } = grownModel(5);
    const batch = { ...randomBatch(6, CFG.vocabSize), budgets: [{ experts: 3, promptTokens: 4 }, { experts: 8, promptTokens: 9 }, { experts: 5, promptTokens: 2 }] };
    const acts = forward(params, CFG, batch.tokens, batch.targets, B, T, { budgets: batch.budgets });
    const expected = backward(params, CFG, acts);
    const actual = await model.gradients(params, batch);
    for (const [name, grad] of Object.entries(expected)) expectClose(actual.grads[name]!, grad, name, TOL);
  });

  it("decodes greedily token for token as the reference, under a budget and dynamically", async () => {
    const { params } = grownModel(7);
    const prompt = [3, 17, 8, 30];
    const count = CFG.contextLength - prompt.length;
    let newUsed = 0;
    for (const m of [3, 8]) {
      const expected = greedyDecode(params, CFG, prompt, count, m === CFG.nExperts ? { mode: 'dynamic' } : { mode: 'static-prompt', expertsPerLayer: m });
      newUsed += expertsUsed(expected.state).flat().filter((e) => e >= BASE.nExperts).length;
      const tokens = [...prompt];
      while (tokens.length < prompt.length + count) {
        const n = tokens.length;
        const { logits } = await model.forward(params, { tokens, targets: tokens, B: 1, T: n, budgets: [{ experts: m, promptTokens: prompt.length }] });
        tokens.push(argmax(logits.subarray((n - 1) * CFG.vocabSize)));
      }
      expect(tokens.slice(prompt.length), `${m} of ${CFG.nExperts}`).toEqual(expected.tokens);
    }
    expect(newUsed).toBeGreaterThan(0);
  });
});

describe('training only the new experts (growthTraining)', () => {
  const STEPS = 3;
  const LR = 1e-2;
  const { trainable, frozenRows } = growthTraining(CFG, BASE.nExperts);
  const isNew = (name: string): boolean => trainable.includes(name) && !name.endsWith('.router');

  /** Every byte that must not move: all parameters but the new experts, and the old experts' router rows. */
  function expectFrozen(before: ParamMap, after: ParamMap, label: string): void {
    for (const [name, value] of Object.entries(before)) {
      if (isNew(name)) {
        expect(after[name], `${label}: ${name} trains`).not.toEqual(value);
      } else if (name.endsWith('.router')) {
        const keep = BASE.nExperts * CFG.dModel;
        expect(after[name]!.subarray(0, keep), `${label}: ${name}, old rows`).toEqual(value.subarray(0, keep));
        expect(after[name]!.subarray(keep), `${label}: ${name}, new rows train`).not.toEqual(value.subarray(keep));
      } else expect(after[name], `${label}: ${name}`).toEqual(value);
    }
  }

  it('names the new experts and every router, with the old rows frozen', () => {
    expect(trainable).toHaveLength(CFG.nLayers * (1 + 3 * 2));
    expect(frozenRows).toEqual({ 'layers.0.router': 6, 'layers.1.router': 6 });
    expect(() => growthTraining(CFG, 0)).toThrow('the first new expert must be in [1, 8)');
  });

  it('leaves every old byte as it was after AdamW steps, on the reference and on onnxruntime-node, which agree', async () => {
    const { params: start } = grownModel(9);
    const batches = Array.from({ length: STEPS }, (_, s) => randomBatch(20 + s, CFG.vocabSize));

    const ref: ParamMap = Object.fromEntries(Object.entries(start).map(([k, v]) => [k, v.slice()]));
    const opt = createAdamW(ref, CFG, trainable, frozenRows);
    for (const batch of batches) adamwStep(opt, ref, backward(ref, CFG, forward(ref, CFG, batch.tokens, batch.targets, B, T)), { lr: LR });
    expectFrozen(start, ref, 'reference');

    const onnx = model.createTrainState(Object.fromEntries(Object.entries(start).map(([k, v]) => [k, v.slice()])), { trainable, frozenRows });
    for (const batch of batches) await model.trainStep(onnx, batch, LR);
    expectFrozen(start, onnx.params, 'onnx');
    for (const name of trainable) expectClose(onnx.params[name]!, ref[name]!, name, 1e-3);
  });

  it('keeps frozen rows in name order, so the cached train graph does not depend on the caller\'s key order', () => {
    const { params } = grownModel(12);
    const reversed = Object.fromEntries(Object.entries(frozenRows).reverse());
    expect(Object.keys(reversed)).not.toEqual(Object.keys(frozenRows));
    const a = model.createTrainState(params, { trainable, frozenRows });
    const b = model.createTrainState(params, { trainable, frozenRows: reversed });
    expect(Object.keys(b.frozenRows)).toEqual(Object.keys(a.frozenRows));
    expect(b.frozenRows).toEqual(frozenRows);
  });

  it('refuses to freeze rows of a tensor that is not trained', () => {
    const { params } = grownModel(11);
    expect(() => createAdamW(params, CFG, ['layers.0.experts.6.w1'], { 'layers.0.router': 6 })).toThrow('cannot freeze rows of "layers.0.router": it is not trained');
    expect(() => createAdamW(params, CFG, ['layers.0.router'], { 'layers.0.router': 9 })).toThrow('cannot freeze 9 rows');
  });
});

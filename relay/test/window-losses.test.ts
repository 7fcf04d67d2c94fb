import { type ModelConfig, type ParamMap, crossEntropyForward, forward, initParams } from '@blyan/model';
import type { MetaPayload } from '@blyan/model/blocks';
import type { Window } from '@blyan/model/eval';
import { OnnxModel } from '@blyan/model/onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { roundWindows, scoredTokens, windowLosses } from '../src/rounds/window-losses.ts';
import { TINY } from './helpers.ts';

/** TINY with sequence budgets: its meta block routes within 2 of 4 experts per layer by default. */
const BUDGETED: ModelConfig = { ...TINY, sequenceBudgets: { localityLossCoef: 0.01 } };
const DYNAMIC_ROUTING: Pick<MetaPayload, 'routing'> = { routing: { modes: ['dynamic', 'static'], topK: 2, staticExpertsPerLayer: 2 } };
const BUDGET_ROUTING: Pick<MetaPayload, 'routing'> = { routing: { ...DYNAMIC_ROUTING.routing, budgets: { default: 2, lowBandwidth: 2 } } };

const plain = OnnxModel.create(TINY, { intraOpThreads: 1 });
const budgeted = OnnxModel.create(BUDGETED, { intraOpThreads: 1 });
afterAll(async () => {
  await plain.dispose();
  await budgeted.dispose();
});

const stream = Int32Array.from({ length: 200 }, (_, i) => (i * 37 + (i >> 3)) % TINY.vocabSize);
const T = TINY.contextLength;

/** The CPU reference's mean loss over each window's scored targets, each window routed by `routing(window)`. */
function reference(params: ParamMap, cfg: ModelConfig, windows: readonly Window[], routing: (w: Window) => Parameters<typeof forward>[6]): number[] {
  return windows.map((w) => {
    const inputs = stream.subarray(w.start, w.start + T);
    const targets = stream.subarray(w.start + 1, w.start + T + 1);
    const acts = forward(params, cfg, inputs, targets, 1, T, routing(w));
    const losses = new Float32Array(T);
    crossEntropyForward(losses, new Float32Array(T * cfg.vocabSize), acts.logits, targets, T, cfg.vocabSize);
    return losses.subarray(w.scoreFrom).reduce((s, l) => s + l, 0) / (T - w.scoreFrom);
  });
}

describe('windowLosses', () => {
  it('under dynamic routing for a model without budgets: each window the mean loss of its scored targets, as the CPU reference computes it', async () => {
    const params = initParams(TINY, 3);
    const windows = [
      { start: 0, scoreFrom: 0 },
      { start: 50, scoreFrom: 5 },
      { start: 120, scoreFrom: T - 1 },
    ];
    expect(roundWindows({ model: plain, payload: DYNAMIC_ROUTING }, windows, T)).toEqual(windows);
    const got = await windowLosses({ model: plain, payload: DYNAMIC_ROUTING }, params, stream, windows, T, 2);
    reference(params, TINY, windows, () => []).forEach((want, i) => expect(got[i]).toBeCloseTo(want, 4));
  });

  it('within the default budget for a model with budgets: experts chosen from each window\'s first half, its second half scored, as the app answers (not dynamic routing)', async () => {
    // Experts and routers scaled up, so which experts a token reaches shows in its loss.
    const params = Object.fromEntries(Object.entries(initParams(BUDGETED, 5)).map(([n, t]) => [n, /expert|router/.test(n) ? t.map((x) => 8 * x) : t]));
    const m = { model: budgeted, payload: BUDGET_ROUTING };
    const windows = roundWindows(m, [0, 40, 90, 150].map((start) => ({ start, scoreFrom: 0 })), T);
    expect(windows.map((w) => w.scoreFrom)).toEqual([T / 2, T / 2, T / 2, T / 2]);
    expect(scoredTokens(windows, T)).toBe(4 * (T / 2));
    const got = await windowLosses(m, params, stream, windows, T, 3);
    const budget = reference(params, BUDGETED, windows, (w) => ({ budgets: [{ experts: 2, promptTokens: w.scoreFrom }] }));
    const dynamic = reference(params, BUDGETED, windows, () => []);
    budget.forEach((want, i) => expect(got[i]).toBeCloseTo(want, 4));
    expect(Math.max(...dynamic.map((d, i) => Math.abs(d - got[i]!)))).toBeGreaterThan(1e-2);
  });
});

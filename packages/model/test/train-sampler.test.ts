import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../src/reference/config.ts';
import { validateRunSpec } from '../src/train/run-spec.ts';
import { sampleBudgets } from '../src/train/sampler.ts';

const CFG: ModelConfig = {
  vocabSize: 300,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  nExperts: 16,
  topK: 2,
  dFF: 32,
  contextLength: 64,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.01,
  sequenceBudgets: { localityLossCoef: 0.01 },
};

/** Every budget of `steps` steps of 16 windows. */
const drawn = (steps: number, draw?: Parameters<typeof sampleBudgets>[5]) =>
  Array.from({ length: steps }, (_, step) => sampleBudgets(CFG, 16, CFG.contextLength, 1, step, draw)).flat();

describe('sampleBudgets', () => {
  it('draws uniform budgets in [topK, nExperts] and prompts in [4, T / 2] without a draw', () => {
    const budgets = drawn(200);
    const experts = new Set(budgets.map((b) => b.experts));
    expect([...experts].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 2));
    expect(budgets.every((b) => b.promptTokens >= 4 && b.promptTokens <= 32)).toBe(true);
  });

  it('with a draw, routes its share of windows dynamically and budgets the rest in [topK, maxExperts]', () => {
    const budgets = drawn(200, { dynamicShare: 0.5, maxExperts: 8, fromStep: 0, untilStep: 1000 });
    const dynamic = budgets.filter((b) => b.experts === CFG.nExperts).length / budgets.length;
    expect(dynamic).toBeGreaterThan(0.45);
    expect(dynamic).toBeLessThan(0.55);
    const budgeted = new Set(budgets.filter((b) => b.experts !== CFG.nExperts).map((b) => b.experts));
    expect([...budgeted].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(drawn(50, { dynamicShare: 0, maxExperts: 3, fromStep: 0, untilStep: 1000 }).every((b) => b.experts === 2 || b.experts === 3)).toBe(true);
  });

  it('routes every window dynamically outside [fromStep, untilStep), and inside draws as the default with share 0 and maxExperts nExperts', () => {
    const draw = { dynamicShare: 0, maxExperts: 16, fromStep: 100, untilStep: 120 };
    expect(drawn(100, draw).every((b) => b.experts === 16)).toBe(true);
    for (const step of [100, 119]) expect(sampleBudgets(CFG, 16, 64, 1, step, draw)).toEqual(sampleBudgets(CFG, 16, 64, 1, step));
    expect(sampleBudgets(CFG, 16, 64, 1, 120, draw).every((b) => b.experts === 16)).toBe(true);
    expect(drawn(20, { ...draw, fromStep: 0 })).toEqual(drawn(20));
  });

  it('depends on (seed, step) alone', () => {
    const draw = { dynamicShare: 0.3, maxExperts: 6, fromStep: 0, untilStep: 1000 };
    expect(sampleBudgets(CFG, 16, 64, 1, 7, draw)).toEqual(sampleBudgets(CFG, 16, 64, 1, 7, draw));
    expect(sampleBudgets(CFG, 16, 64, 1, 7, draw)).not.toEqual(sampleBudgets(CFG, 16, 64, 1, 8, draw));
  });

  it('refuses a maxExperts outside [topK, nExperts]', () => {
    expect(() => sampleBudgets(CFG, 4, 64, 1, 0, { dynamicShare: 0.5, maxExperts: 1, fromStep: 0, untilStep: 1000 })).toThrow("the budget draw's maxExperts must be in [topK = 2, nExperts = 16], got 1");
    expect(() => sampleBudgets(CFG, 4, 64, 1, 0, { dynamicShare: 0.5, maxExperts: 17, fromStep: 0, untilStep: 1000 })).toThrow(/got 17/);
  });
});

describe('a run spec with a budget draw', () => {
  const spec = { seed: 1, batch: 16, lr: 3e-3, steps: 10, warmupSteps: 1, logEvery: 5, valWindows: 4 };

  it('keeps a valid draw and refuses a share outside [0, 1], a fractional maxExperts, a negative fromStep or an untilStep not above it', () => {
    const draw = { dynamicShare: 0.5, maxExperts: 8, fromStep: 3, untilStep: 1000 };
    expect(validateRunSpec({ ...spec, budgetDraw: draw }).budgetDraw).toEqual(draw);
    expect(validateRunSpec(spec).budgetDraw).toBeUndefined();
    expect(() => validateRunSpec({ ...spec, budgetDraw: { ...draw, dynamicShare: 1.5 } })).toThrow('run.budgetDraw.dynamicShare must be in [0, 1], got 1.5');
    expect(() => validateRunSpec({ ...spec, budgetDraw: { ...draw, maxExperts: 2.5 } })).toThrow('run.budgetDraw.maxExperts must be a positive integer, got 2.5');
    expect(() => validateRunSpec({ ...spec, budgetDraw: { ...draw, fromStep: -1 } })).toThrow('run.budgetDraw.fromStep must be a non-negative integer, got -1');
    expect(() => validateRunSpec({ ...spec, budgetDraw: { ...draw, untilStep: 3 } })).toThrow('run.budgetDraw.untilStep must be an integer above fromStep (3), got 3');
    expect(() => validateRunSpec({ ...spec, budgetDraw: null })).toThrow(/dynamicShare must be in \[0, 1\], got undefined/);
  });
});

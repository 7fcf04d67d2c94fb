import { describe, expect, it } from 'vitest';
import { pairedTest } from '../src/index.ts';
import { normal, uniform } from './fixtures.ts';

const OPTS = { confidence: 0.99, margin: 1e-4 };
const WINDOWS = 64;
const DRAWS = 4000;

/**
 * One evaluation: WINDOWS windows whose base losses differ a lot between windows (sd 0.5 nats),
 * and a candidate that changes each window's loss by `improvement` plus per-window noise (sd
 * `noise`), as a small expert update does.
 */
function evaluation(g: () => number, improvement: number, noise: number): { base: number[]; candidate: number[] } {
  const base = Array.from({ length: WINDOWS }, () => 4 + 0.5 * g());
  return { base, candidate: base.map((b) => b - improvement + noise * g()) };
}

const acceptance = (seed: number, improvement: number, noise: number): number => {
  const g = normal(uniform(seed));
  let accepted = 0;
  for (let i = 0; i < DRAWS; i++) {
    const e = evaluation(g, improvement, noise);
    if (pairedTest(e.base, e.candidate, OPTS).accepted) accepted++;
  }
  return accepted / DRAWS;
};

describe('pairedTest', () => {
  it('accepts a true improvement of 0.002 nats/token (per-window noise 0.003) in at least 95 % of fresh draws', () => {
    const rate = acceptance(1, 0.002, 0.003);
    expect(rate).toBeGreaterThan(0.95);
  });

  it('accepts pure noise in at most the stated 1 % of draws (plus sampling error)', () => {
    const rate = acceptance(2, 0, 0.004);
    expect(rate).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / DRAWS));
  });

  it('at margin 0 and no improvement, accepts close to 1 − confidence: the bound is calibrated, not just strict', () => {
    const g = normal(uniform(3));
    let accepted = 0;
    for (let i = 0; i < DRAWS; i++) {
      const e = evaluation(g, 0, 0.004);
      if (pairedTest(e.base, e.candidate, { confidence: 0.9, margin: 0 }).accepted) accepted++;
    }
    expect(Math.abs(accepted / DRAWS - 0.1)).toBeLessThan(3 * Math.sqrt((0.1 * 0.9) / DRAWS));
  });

  it('rejects a candidate that makes things worse, and a copy of the base (every difference 0)', () => {
    const g = normal(uniform(4));
    const worse = evaluation(g, -0.002, 0.004);
    expect(pairedTest(worse.base, worse.candidate, OPTS).accepted).toBe(false);
    const copy = evaluation(g, 0, 0);
    const r = pairedTest(copy.base, copy.candidate, OPTS);
    expect(r).toMatchObject({ mean: 0, sd: 0, lower: 0, accepted: false });
  });

  it('refuses unpaired, too few, or non-finite losses and a confidence outside (0.5, 1)', () => {
    expect(() => pairedTest([1, 2], [1], OPTS)).toThrow(/one candidate loss per base loss/);
    expect(() => pairedTest([1], [1], OPTS)).toThrow(/at least 2 windows/);
    expect(() => pairedTest([1, Number.NaN], [1, 1], OPTS)).toThrow(/finite/);
    expect(() => pairedTest([1, 2], [1, 2], { confidence: 1, margin: 0 })).toThrow(/confidence/);
  });
});

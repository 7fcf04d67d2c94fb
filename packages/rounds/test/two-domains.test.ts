import { describe, expect, it } from 'vitest';
import { bpbBudget, twoDomainVerdict } from '../src/index.ts';
import { normal, uniform } from './fixtures.ts';

const WINDOWS = 64;
const OPTS = { test: { confidence: 0.99, margin: 1e-4 }, confidence: 0.99, bound: 0.01 };

/** WINDOWS windows of varied difficulty, and a candidate that lowers each one's loss by `improvement` (± sd `noise`). */
function domain(seed: number, improvement: number, noise: number): { base: number[]; candidate: number[] } {
  const g = normal(uniform(seed));
  const base = Array.from({ length: WINDOWS }, () => 4 + 0.5 * g());
  return { base, candidate: base.map((b) => b - improvement + noise * g()) };
}

describe('twoDomainVerdict', () => {
  it('accepts a change that improves the new domain and costs the old one less than the bound', () => {
    const v = twoDomainVerdict(domain(1, 0.05, 0.01), domain(2, -0.002, 0.002), OPTS);
    expect(v.improves.accepted).toBe(true);
    expect(v.keeps.lower).toBeGreaterThan(-OPTS.bound);
    expect(v.accepted).toBe(true);
  });

  it('refuses a change that improves the new domain but makes the old one worse by more than the bound', () => {
    const v = twoDomainVerdict(domain(3, 0.2, 0.01), domain(4, -0.02, 0.002), OPTS);
    expect(v.improves.accepted).toBe(true);
    expect(v.keeps.accepted).toBe(false);
    expect(v.keeps.lower).toBeLessThan(-OPTS.bound);
    expect(v.accepted).toBe(false);
  });

  it('refuses a change that keeps the old domain but does not improve the new one', () => {
    const v = twoDomainVerdict(domain(5, 0, 0.01), domain(6, 0, 0.002), OPTS);
    expect(v.keeps.accepted).toBe(true);
    expect(v.accepted).toBe(false);
  });

  it('refuses a negative bound', () => {
    expect(() => twoDomainVerdict(domain(7, 0.1, 0.01), domain(8, 0, 0.01), { ...OPTS, bound: -0.01 })).toThrow(RangeError);
  });
});

describe('bpbBudget', () => {
  it('converts bits per byte to nats per token at the text bytes per token', () => {
    expect(bpbBudget(0.01, 4000, 1000)).toBeCloseTo(0.01 * Math.LN2 * 4, 12);
    expect(() => bpbBudget(0.01, 0, 1000)).toThrow(RangeError);
  });
});

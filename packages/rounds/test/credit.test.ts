import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitCredit } from '../src/index.ts';

const weight = fc.oneof(fc.double({ min: -1, max: 1e6, noNaN: true }), fc.constant(0), fc.constant(Number.NaN), fc.double({ min: 1e-12, max: 1e-6 }));

describe('splitCredit', () => {
  it('always sums to the pool when a weight is positive, pays nothing to weights ≤ 0, and each part is within one unit of its exact share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.array(weight, { minLength: 1, maxLength: 40 }), (pool, weights) => {
        const parts = splitCredit(pool, weights);
        const positive = weights.map((w) => (w > 0 ? w : 0));
        const total = positive.reduce((s, w) => s + w, 0);
        expect(parts.every((p) => Number.isSafeInteger(p) && p >= 0)).toBe(true);
        expect(parts.reduce((s, p) => s + p, 0)).toBe(total > 0 ? pool : 0);
        parts.forEach((p, i) => {
          if (!(positive[i]! > 0)) expect(p).toBe(0);
          else expect(Math.abs(p - (pool * positive[i]!) / total)).toBeLessThanOrEqual(1 + pool * 1e-9);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the leftover units to the largest remainders, ties to the earlier', () => {
    expect(splitCredit(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(splitCredit(7, [0.5, 0.3, 0.2])).toEqual([4, 2, 1]);
  });

  it('refuses a pool that is not a non-negative safe integer', () => {
    expect(() => splitCredit(1.5, [1])).toThrow(/safe integer/);
    expect(() => splitCredit(-1, [1])).toThrow(/safe integer/);
  });
});

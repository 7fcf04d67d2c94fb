import { describe, expect, it } from 'vitest';
import { Rng, argmax, sampleToken } from '../src/reference/index.ts';

const LOGITS = Float32Array.from([1, 3, 0.5, 3, -2, 2]);

function frequencies(logits: ArrayLike<number>, options: Parameters<typeof sampleToken>[1], draws: number, seed: number): number[] {
  const rng = new Rng(seed);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, options, rng)]!++;
  return counts.map((c) => c / draws);
}

function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((z) => Math.exp(z - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

describe('sampling', () => {
  it('greedy is the argmax, ties to the lower index, whatever the filters', () => {
    const rng = new Rng(1);
    expect(argmax(LOGITS)).toBe(1);
    expect(sampleToken(LOGITS, { temperature: 0 }, rng)).toBe(1);
    expect(sampleToken(LOGITS, { topK: 1 }, rng)).toBe(1);
    expect(sampleToken(LOGITS, { topP: 1e-6 }, rng)).toBe(1);
  });

  it('draws from softmax(logits / temperature)', () => {
    const f = frequencies(LOGITS, { temperature: 2 }, 20000, 2);
    const p = softmax(Array.from(LOGITS, (z) => z / 2));
    for (let i = 0; i < p.length; i++) expect(Math.abs(f[i]! - p[i]!), `token ${i}`).toBeLessThan(0.015);
  });

  it('top-k keeps the k most likely tokens, renormalized', () => {
    const f = frequencies(LOGITS, { topK: 3 }, 20000, 3);
    expect(f[0]).toBe(0);
    expect(f[2]).toBe(0);
    expect(f[4]).toBe(0);
    const p = softmax([3, 3, 2]);
    expect(Math.abs(f[1]! - p[0]!)).toBeLessThan(0.015);
    expect(Math.abs(f[5]! - p[2]!)).toBeLessThan(0.015);
  });

  it('top-p keeps the smallest most likely set reaching p', () => {
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
    const f = frequencies(logits, { topP: 0.75 }, 20000, 4);
    expect(f[2]).toBe(0);
    expect(f[3]).toBe(0);
    expect(Math.abs(f[0]! - 0.625)).toBeLessThan(0.015);
  });

  it('repeats its choices for a seed', () => {
    const draw = (seed: number): number[] => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(LOGITS, { temperature: 1.5, topK: 4, topP: 0.9 }, rng));
    };
    expect(draw(9)).toEqual(draw(9));
    expect(draw(9)).not.toEqual(draw(10));
  });

  it('rejects invalid options', () => {
    const rng = new Rng(1);
    expect(() => sampleToken(LOGITS, { temperature: -1 }, rng)).toThrow('temperature must be a finite number ≥ 0, got -1');
    expect(() => sampleToken(LOGITS, { topK: 1.5 }, rng)).toThrow('topK must be an integer ≥ 0, got 1.5');
    expect(() => sampleToken(LOGITS, { topP: 0 }, rng)).toThrow('topP must be in (0, 1], got 0');
    expect(() => sampleToken([], {}, rng)).toThrow('cannot sample from empty logits');
  });
});

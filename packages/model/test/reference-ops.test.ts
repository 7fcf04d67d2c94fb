/** Forward semantics of the ops that other backends must reproduce (their gradients: reference-gradcheck). */
import { describe, expect, it } from 'vitest';
import { Rng, attentionForward, auxLossForward, ropeForward, ropeTable, softmaxForward, swigluForward, topKForward } from '../src/reference/index.ts';

function randn(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

describe('attention', () => {
  const [T, H, hd] = [5, 2, 4];
  const d = H * hd;
  const rng = new Rng(1);
  const [q, k, v] = [randn(rng, T * d), randn(rng, T * d), randn(rng, T * d)];

  it('is causal softmax(q·k / sqrt(headDim)) · v per head', () => {
    const out = new Float64Array(T * d);
    const att = new Float64Array(H * T * T);
    attentionForward(out, att, q, k, v, T, 0, H, hd);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const scores = Array.from({ length: T }, (_, j) => {
          if (j > i) return -Infinity;
          let s = 0;
          for (let c = 0; c < hd; c++) s += q[i * d + h * hd + c]! * k[j * d + h * hd + c]!;
          return s / Math.sqrt(hd);
        });
        const z = scores.reduce((a, s) => a + Math.exp(s), 0);
        const p = scores.map((s) => Math.exp(s) / z);
        for (let j = 0; j < T; j++) expect(att[(h * T + i) * T + j]).toBeCloseTo(p[j]!, 12);
        for (let c = 0; c < hd; c++) {
          const expected = p.reduce((a, pj, j) => a + pj * v[j * d + h * hd + c]!, 0);
          expect(out[i * d + h * hd + c]).toBeCloseTo(expected, 12);
        }
      }
    }
  });

  it('for queries at positions start… over a KV cache equals the same rows of the full pass, bit for bit', () => {
    const full = new Float64Array(T * d);
    attentionForward(full, null, q, k, v, T, 0, H, hd);
    const start = 2;
    const part = new Float64Array((T - start) * d);
    attentionForward(part, null, q.subarray(start * d), k, v, T - start, start, H, hd);
    expect(part).toEqual(full.subarray(start * d));
  });
});

describe('rope (interleaved pairs)', () => {
  it('rotates pair i at position p by p · θ^(−2i/headDim)', () => {
    const table = ropeTable(4, 4, 10000);
    const out = new Float64Array(4);
    ropeForward(out, Float64Array.from([2, 3, 4, 5]), 1, 0, 1, 4, table);
    expect(Array.from(out)).toEqual([2, 3, 4, 5]);
    const inp = Float64Array.from([1, 0, 1, 0]);
    ropeForward(out, inp, 1, 3, 1, 4, table);
    expect(out[0]).toBeCloseTo(Math.cos(3), 14);
    expect(out[1]).toBeCloseTo(Math.sin(3), 14);
    expect(out[2]).toBeCloseTo(Math.cos(0.03), 14);
    expect(out[3]).toBeCloseTo(Math.sin(0.03), 14);
  });

  it('makes q·k depend only on the distance between positions', () => {
    const rng = new Rng(2);
    const table = ropeTable(16, 8, 10000);
    const [q, k] = [randn(rng, 8), randn(rng, 8)];
    const score = (m: number, n: number): number => {
      const [a, b] = [new Float64Array(8), new Float64Array(8)];
      ropeForward(a, q, 1, m, 1, 8, table);
      ropeForward(b, k, 1, n, 1, 8, table);
      return a.reduce((s, x, i) => s + x * b[i]!, 0);
    };
    expect(score(7, 3)).toBeCloseTo(score(4, 0), 12);
    expect(score(12, 11)).toBeCloseTo(score(1, 0), 12);
    expect(Math.abs(score(7, 3) - score(7, 4))).toBeGreaterThan(1e-6);
  });

  it('refuses positions beyond its table', () => {
    expect(() => ropeForward(new Float64Array(4), new Float64Array(4), 1, 4, 1, 4, ropeTable(4, 4, 10000))).toThrow(/positions up to 4 but the table covers 4/);
  });
});

describe('router', () => {
  it('softmax rows sum to 1', () => {
    const probs = new Float64Array(6);
    softmaxForward(probs, Float64Array.from([1000, 1001, 999, -3, 0, 3]), 2, 3);
    expect(probs[0]! + probs[1]! + probs[2]!).toBeCloseTo(1, 14);
    expect(probs[1]).toBeGreaterThan(probs[0]!);
  });

  it('top-K takes the largest probabilities best first, ties to the lower index, within the candidates, renormalized', () => {
    const probs = Float64Array.from([0.1, 0.3, 0.3, 0.2, 0.1]);
    const experts = new Int32Array(2);
    const weights = new Float64Array(2);
    topKForward(experts, weights, probs, 1, 5, 2, [0, 1, 2, 3, 4]);
    expect(Array.from(experts)).toEqual([1, 2]);
    expect(weights[0]).toBeCloseTo(0.5, 14);
    topKForward(experts, weights, probs, 1, 5, 2, [0, 3, 4]);
    expect(Array.from(experts)).toEqual([3, 0]);
    expect(weights[0]).toBeCloseTo(0.2 / 0.3, 14);
    expect(weights[0]! + weights[1]!).toBeCloseTo(1, 14);
  });

  it('load-balancing loss is 1 when balanced and E when everything goes to one expert', () => {
    const E = 4;
    const uniform = new Float64Array(2 * E).fill(0.25);
    expect(auxLossForward(new Float64Array(E), uniform, Int32Array.from([0, 1, 2, 3]), 2, E, 2)).toBeCloseTo(1, 14);
    const collapsed = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0]);
    const load = new Float64Array(E);
    expect(auxLossForward(load, collapsed, Int32Array.from([0, 0, 0, 0]), 2, E, 2)).toBeCloseTo(E, 14);
    expect(Array.from(load)).toEqual([1, 0, 0, 0]);
  });
});

describe('SwiGLU expert', () => {
  it('is w2 · (silu(w1 · x) ⊙ (w3 · x))', () => {
    const rng = new Rng(3);
    const [d, F] = [3, 4];
    const x = randn(rng, d);
    const w = { w1: randn(rng, F * d), w3: randn(rng, F * d), w2: randn(rng, d * F) };
    const out = new Float64Array(d);
    swigluForward(out, { h1: new Float64Array(F), h3: new Float64Array(F), act: new Float64Array(F) }, x, w, 1, d, F);
    const row = (m: Float64Array, r: number, n: number): number => Array.from({ length: n }, (_, c) => m[r * n + c]! * x[c]!).reduce((a, b) => a + b, 0);
    const hidden = Array.from({ length: F }, (_, f) => {
      const a = row(w.w1, f, d);
      return (a / (1 + Math.exp(-a))) * row(w.w3, f, d);
    });
    for (let o = 0; o < d; o++) expect(out[o]).toBeCloseTo(hidden.reduce((s, h, f) => s + w.w2[o * F + f]! * h, 0), 12);
  });
});

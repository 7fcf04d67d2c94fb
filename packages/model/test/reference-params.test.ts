import { describe, expect, it } from 'vitest';
import { type ModelConfig, Rng, initParams, parameterShapes } from '../src/reference/index.ts';

const CFG: ModelConfig = { vocabSize: 64, dModel: 32, nLayers: 2, nHeads: 4, nExperts: 3, topK: 2, dFF: 48, contextLength: 32, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };

function std(a: Float32Array): number {
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
}

describe('parameterShapes', () => {
  it('lists every tensor by its exact name with its [out, in] shape', () => {
    const specs = parameterShapes(CFG);
    expect(specs).toHaveLength(1 + CFG.nLayers * (7 + 3 * CFG.nExperts) + 1);
    expect(specs.slice(0, 11)).toEqual([
      { name: 'embed', shape: [64, 32] },
      { name: 'layers.0.attn_norm', shape: [32] },
      { name: 'layers.0.wq', shape: [32, 32] },
      { name: 'layers.0.wk', shape: [32, 32] },
      { name: 'layers.0.wv', shape: [32, 32] },
      { name: 'layers.0.wo', shape: [32, 32] },
      { name: 'layers.0.ffn_norm', shape: [32] },
      { name: 'layers.0.router', shape: [3, 32] },
      { name: 'layers.0.experts.0.w1', shape: [48, 32] },
      { name: 'layers.0.experts.0.w3', shape: [48, 32] },
      { name: 'layers.0.experts.0.w2', shape: [32, 48] },
    ]);
    expect(specs.at(-2)).toEqual({ name: 'layers.1.experts.2.w2', shape: [32, 48] });
    expect(specs.at(-1)).toEqual({ name: 'final_norm', shape: [32] });
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
  });
});

describe('initParams', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(initParams(CFG, 42)).toEqual(initParams(CFG, 42));
    expect(initParams(CFG, 42)['layers.1.wq']).not.toEqual(initParams(CFG, 43)['layers.1.wq']);
  });

  it('sets norms to 1, matrices to std 0.02 and residual output projections to 0.02 / sqrt(2 · nLayers)', () => {
    const params = initParams(CFG, 1);
    for (const { name, shape } of parameterShapes(CFG)) {
      const t = params[name]!;
      expect(t.length).toBe(shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('_norm')) expect(t.every((x) => x === 1), name).toBe(true);
    }
    const scaled = 0.02 / Math.sqrt(2 * CFG.nLayers);
    const expectStd = (name: string, expected: number): void => expect(Math.abs(std(params[name]!) / expected - 1), name).toBeLessThan(0.1);
    expectStd('embed', 0.02);
    expectStd('layers.0.wq', 0.02);
    expectStd('layers.1.experts.2.w1', 0.02);
    expectStd('layers.0.wo', scaled);
    expectStd('layers.1.experts.0.w2', scaled);
  });
});

describe('Rng', () => {
  it('repeats its sequence for a seed and draws standard normals', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const xs = Array.from({ length: 20000 }, () => a.normal());
    expect(xs.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => b.normal()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    const u = Array.from({ length: 1000 }, () => a.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
  });
});

/**
 * Every backward pass against central finite differences, in float64.
 *
 * Each op is checked on a scalar L = Σ r ⊙ out with random r (so its backward gets dout = r), then
 * the whole model on its training loss. In float64 with step h = 1e-6 the central difference has
 * truncation error ~h² · |f'''| ≈ 1e-12 and rounding error ~1e-16 · |L| / h ≈ 1e-9, so analytic
 * and numeric gradients must agree to |a − n| ≤ 1e-7 + 1e-6 · |n|: an actual bug (a missing term,
 * a wrong index) gives errors of the order of the gradient itself. Top-K routing is piecewise
 * constant, so the inputs are drawn with clear margins between the K-th and (K+1)-th probability,
 * and the tests assert those margins (≥ 1e-3, far more than an h-sized nudge can move them).
 */
import { describe, expect, it } from 'vitest';
import {
  type ExpertWeights,
  type ModelConfig,
  type MoeWeights,
  type ParamMap,
  Rng,
  attentionBackward,
  attentionForward,
  auxLossBackward,
  auxLossForward,
  backward,
  crossEntropyBackward,
  crossEntropyForward,
  embeddingBackward,
  embeddingForward,
  forward,
  localityBackward,
  localityForward,
  matmulBackward,
  matmulForward,
  moeBackward,
  moeForward,
  parameterShapes,
  residualBackward,
  residualForward,
  rmsnormBackward,
  rmsnormForward,
  ropeBackward,
  ropeForward,
  ropeTable,
  softmaxBackward,
  softmaxForward,
  swigluBackward,
  swigluForward,
  topKBackward,
  topKForward,
} from '../src/reference/index.ts';

const H_STEP = 1e-6;
const ATOL = 1e-7;
const RTOL = 1e-6;

function randn(rng: Rng, n: number, std = 1, mean = 0): Float64Array {
  return Float64Array.from({ length: n }, () => mean + std * rng.normal());
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Compares analytic[i] with the central difference of f w.r.t. x[i] for each index. */
function checkGradient(label: string, x: Float64Array, analytic: Float64Array, f: () => number, indices: Iterable<number> = x.keys()): void {
  for (const i of indices) {
    const orig = x[i]!;
    x[i] = orig + H_STEP;
    const fp = f();
    x[i] = orig - H_STEP;
    const fm = f();
    x[i] = orig;
    const numeric = (fp - fm) / (2 * H_STEP);
    const a = analytic[i]!;
    expect(Math.abs(a - numeric), `${label}[${i}]: analytic ${a}, numeric ${numeric}`).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(numeric));
  }
}

/** Smallest gap between the K-th and (K+1)-th largest probability over the rows of probs [n, E]. */
function topKMargin(probs: ArrayLike<number>, n: number, E: number, K: number): number {
  let margin = Infinity;
  for (let t = 0; t < n; t++) {
    const row = Array.from({ length: E }, (_, e) => probs[t * E + e]!).sort((a, b) => b - a);
    margin = Math.min(margin, row[K - 1]! - row[K]!);
  }
  return margin;
}

describe('op gradients (float64 finite differences)', () => {
  it('matmul: dinp and dw, including the 4-row and 4-column unrolled paths and their remainders', () => {
    const rng = new Rng(1);
    const [n, In, Out] = [5, 7, 6];
    const inp = randn(rng, n * In);
    const w = randn(rng, Out * In);
    const r = randn(rng, n * Out);
    const f = (): number => {
      const out = new Float64Array(n * Out);
      matmulForward(out, inp, w, n, In, Out);
      return dot(out, r);
    };
    const out = new Float64Array(n * Out);
    matmulForward(out, inp, w, n, In, Out);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < Out; o++) {
        let s = 0;
        for (let c = 0; c < In; c++) s += inp[i * In + c]! * w[o * In + c]!;
        expect(out[i * Out + o]).toBeCloseTo(s, 12);
      }
    }
    const dinp = new Float64Array(n * In);
    const dw = new Float64Array(Out * In);
    matmulBackward(dinp, dw, r, inp, w, n, In, Out);
    checkGradient('inp', inp, dinp, f);
    checkGradient('w', w, dw, f);
  });

  it('embedding: a repeated token collects the gradient of every occurrence', () => {
    const rng = new Rng(2);
    const [V, d] = [4, 3];
    const tokens = [2, 0, 2, 3];
    const embed = randn(rng, V * d);
    const r = randn(rng, tokens.length * d);
    const f = (): number => {
      const out = new Float64Array(tokens.length * d);
      embeddingForward(out, tokens, embed, tokens.length, d);
      return dot(out, r);
    };
    const dembed = new Float64Array(V * d);
    embeddingBackward(dembed, r, tokens, tokens.length, d);
    checkGradient('embed', embed, dembed, f);
    expect(Array.from(dembed.subarray(1 * d, 2 * d))).toEqual([0, 0, 0]);
  });

  it('rmsnorm: dinp and dweight', () => {
    const rng = new Rng(3);
    const [n, C, eps] = [3, 6, 1e-5];
    const inp = randn(rng, n * C);
    const weight = randn(rng, C, 0.3, 1);
    const r = randn(rng, n * C);
    const f = (): number => {
      const out = new Float64Array(n * C);
      rmsnormForward(out, new Float64Array(n), inp, weight, n, C, eps);
      return dot(out, r);
    };
    const out = new Float64Array(n * C);
    const rstd = new Float64Array(n);
    rmsnormForward(out, rstd, inp, weight, n, C, eps);
    const ms = dot(inp.subarray(0, C), inp.subarray(0, C)) / C;
    expect(out[2]).toBeCloseTo((inp[2]! / Math.sqrt(ms + eps)) * weight[2]!, 12);
    const dinp = new Float64Array(n * C);
    const dweight = new Float64Array(C);
    rmsnormBackward(dinp, dweight, r, inp, weight, rstd, n, C);
    checkGradient('inp', inp, dinp, f);
    checkGradient('weight', weight, dweight, f);
  });

  it('rope: dinp at positions start > 0', () => {
    const rng = new Rng(4);
    const [n, start, H, hd] = [3, 2, 2, 4];
    const table = ropeTable(8, hd, 10000);
    const inp = randn(rng, n * H * hd);
    const r = randn(rng, n * H * hd);
    const f = (): number => {
      const out = new Float64Array(inp.length);
      ropeForward(out, inp, n, start, H, hd, table);
      return dot(out, r);
    };
    const dinp = new Float64Array(inp.length);
    ropeBackward(dinp, r, n, start, H, hd, table);
    checkGradient('inp', inp, dinp, f);
  });

  it('causal attention: dq, dk, dv', () => {
    const rng = new Rng(5);
    const [T, H, hd] = [5, 2, 4];
    const d = H * hd;
    const [q, k, v] = [randn(rng, T * d), randn(rng, T * d), randn(rng, T * d)];
    const r = randn(rng, T * d);
    const f = (): number => {
      const out = new Float64Array(T * d);
      attentionForward(out, null, q, k, v, T, 0, H, hd);
      return dot(out, r);
    };
    const att = new Float64Array(H * T * T);
    attentionForward(new Float64Array(T * d), att, q, k, v, T, 0, H, hd);
    const [dq, dk, dv] = [new Float64Array(T * d), new Float64Array(T * d), new Float64Array(T * d)];
    attentionBackward(dq, dk, dv, r, att, q, k, v, T, H, hd);
    checkGradient('q', q, dq, f);
    checkGradient('k', k, dk, f);
    checkGradient('v', v, dv, f);
  });

  it('router softmax: dlogits', () => {
    const rng = new Rng(6);
    const [n, E] = [3, 5];
    const logits = randn(rng, n * E, 2);
    const r = randn(rng, n * E);
    const f = (): number => {
      const probs = new Float64Array(n * E);
      softmaxForward(probs, logits, n, E);
      return dot(probs, r);
    };
    const probs = new Float64Array(n * E);
    softmaxForward(probs, logits, n, E);
    const dlogits = new Float64Array(n * E);
    softmaxBackward(dlogits, r, probs, n, E);
    checkGradient('logits', logits, dlogits, f);
  });

  it('top-K renormalized weights: dprobs, with and without a candidate set', () => {
    const rng = new Rng(7);
    const [n, E, K] = [4, 6, 2];
    const logits = randn(rng, n * E, 2);
    const probs = new Float64Array(n * E);
    softmaxForward(probs, logits, n, E);
    expect(topKMargin(probs, n, E, K)).toBeGreaterThan(1e-3);
    const r = randn(rng, n * K);
    for (const candidates of [[0, 1, 2, 3, 4, 5], [1, 3, 4]]) {
      const experts = new Int32Array(n * K);
      const weights = new Float64Array(n * K);
      topKForward(experts, weights, probs, n, E, K, candidates);
      const f = (): number => {
        const w = new Float64Array(n * K);
        topKForward(new Int32Array(n * K), w, probs, n, E, K, candidates);
        return dot(w, r);
      };
      const dprobs = new Float64Array(n * E);
      topKBackward(dprobs, r, probs, experts, n, E, K);
      checkGradient(`probs (candidates ${candidates.join(',')})`, probs, dprobs, f);
    }
  });

  it('load-balancing loss: dprobs (assignment fractions held constant)', () => {
    const rng = new Rng(8);
    const [n, E, K] = [5, 4, 2];
    const probs = randn(rng, n * E, 0.1, 0.25);
    const experts = Int32Array.from({ length: n * K }, (_, a) => (a * 3) % E);
    const load = new Float64Array(E);
    const f = (): number => auxLossForward(new Float64Array(E), probs, experts, n, E, K);
    auxLossForward(load, probs, experts, n, E, K);
    const dprobs = new Float64Array(n * E);
    auxLossBackward(dprobs, load, 1, n, E);
    checkGradient('probs', probs, dprobs, f);
  });

  it("locality loss: dprobs of the mean entropy of each sequence's mean probabilities", () => {
    const rng = new Rng(9);
    const [S, T, E] = [3, 4, 5];
    const probs = randn(rng, S * T * E, 0.05, 0.2);
    const means = new Float64Array(S * E);
    const f = (): number => localityForward(new Float64Array(S * E), probs, S, T, E);
    localityForward(means, probs, S, T, E);
    const dprobs = new Float64Array(S * T * E);
    localityBackward(dprobs, means, 1, S, T, E);
    checkGradient('probs', probs, dprobs, f);
  });

  it('SwiGLU expert: dx, dw1, dw3, dw2', () => {
    const rng = new Rng(9);
    const [n, d, F] = [3, 5, 7];
    const x = randn(rng, n * d);
    const w = { w1: randn(rng, F * d, 0.5), w3: randn(rng, F * d, 0.5), w2: randn(rng, d * F, 0.5) };
    const r = randn(rng, n * d);
    const acts = (): { h1: Float64Array; h3: Float64Array; act: Float64Array } => ({ h1: new Float64Array(n * F), h3: new Float64Array(n * F), act: new Float64Array(n * F) });
    const f = (): number => {
      const out = new Float64Array(n * d);
      swigluForward(out, acts(), x, w, n, d, F);
      return dot(out, r);
    };
    const a = acts();
    swigluForward(new Float64Array(n * d), a, x, w, n, d, F);
    const dx = new Float64Array(n * d);
    const dw = { w1: new Float64Array(F * d), w3: new Float64Array(F * d), w2: new Float64Array(d * F) };
    swigluBackward(dx, dw, r, x, a, w, n, d, F);
    checkGradient('x', x, dx, f);
    checkGradient('w1', w.w1, dw.w1, f);
    checkGradient('w3', w.w3, dw.w3, f);
    checkGradient('w2', w.w2, dw.w2, f);
  });

  it('residual: da and db', () => {
    const rng = new Rng(10);
    const n = 6;
    const [a, b, r] = [randn(rng, n), randn(rng, n), randn(rng, n)];
    const f = (): number => {
      const out = new Float64Array(n);
      residualForward(out, a, b, n);
      return dot(out, r);
    };
    const [da, db] = [new Float64Array(n), new Float64Array(n)];
    residualBackward(da, db, r, n);
    checkGradient('a', a, da, f);
    checkGradient('b', b, db, f);
  });

  it('cross-entropy: dlogits, and the loss is −log softmax', () => {
    const rng = new Rng(11);
    const [n, V] = [3, 7];
    const logits = randn(rng, n * V, 2);
    const targets = [4, 0, 6];
    const c = randn(rng, n);
    const f = (): number => {
      const losses = new Float64Array(n);
      crossEntropyForward(losses, new Float64Array(n * V), logits, targets, n, V);
      return dot(losses, c);
    };
    const losses = new Float64Array(n);
    const probs = new Float64Array(n * V);
    crossEntropyForward(losses, probs, logits, targets, n, V);
    const row = Array.from(logits.subarray(V, 2 * V));
    expect(losses[1]).toBeCloseTo(Math.log(row.reduce((s, z) => s + Math.exp(z), 0)) - row[0]!, 12);
    const dlogits = new Float64Array(n * V);
    crossEntropyBackward(dlogits, c, probs, targets, n, V);
    checkGradient('logits', logits, dlogits, f);
  });

  it('tied output projection + cross-entropy: dembed and dh', () => {
    const rng = new Rng(12);
    const [n, d, V] = [3, 4, 6];
    const h = randn(rng, n * d);
    const embed = randn(rng, V * d);
    const targets = [1, 5, 1];
    const f = (): number => {
      const logits = new Float64Array(n * V);
      matmulForward(logits, h, embed, n, d, V);
      const losses = new Float64Array(n);
      crossEntropyForward(losses, new Float64Array(n * V), logits, targets, n, V);
      return losses.reduce((s, x) => s + x, 0) / n;
    };
    const logits = new Float64Array(n * V);
    matmulForward(logits, h, embed, n, d, V);
    const probs = new Float64Array(n * V);
    crossEntropyForward(new Float64Array(n), probs, logits, targets, n, V);
    const dlogits = new Float64Array(n * V);
    crossEntropyBackward(dlogits, new Float64Array(n).fill(1 / n), probs, targets, n, V);
    const [dh, dembed] = [new Float64Array(n * d), new Float64Array(V * d)];
    matmulBackward(dh, dembed, dlogits, h, embed, n, d, V);
    checkGradient('h', h, dh, f);
    checkGradient('embed', embed, dembed, f);
  });

  it('MoE layer: dx, drouter and every expert, through the top-2 weights and the aux loss', () => {
    const rng = new Rng(13);
    const cfg: ModelConfig = { vocabSize: 2, dModel: 6, nLayers: 1, nHeads: 1, nExperts: 4, topK: 2, dFF: 5, contextLength: 8, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0 };
    const { dModel: d, nExperts: E, dFF: F } = cfg;
    const n = 6;
    const daux = 0.7;
    const x = randn(rng, n * d);
    const expert = (): ExpertWeights<Float64Array> => ({ w1: randn(rng, F * d, 0.5), w3: randn(rng, F * d, 0.5), w2: randn(rng, d * F, 0.5) });
    const w: MoeWeights<Float64Array> = { router: randn(rng, E * d, 0.7), experts: Array.from({ length: E }, expert) };
    const r = randn(rng, n * d);
    const f = (): number => {
      const acts = moeForward(w, x, n, cfg, 0, null);
      return dot(acts.out, r) + daux * acts.aux;
    };
    const acts = moeForward(w, x, n, cfg, 0, null);
    expect(topKMargin(acts.probs, n, E, cfg.topK)).toBeGreaterThan(1e-3);
    expect(new Set(acts.experts).size).toBe(E);
    const dx = new Float64Array(n * d);
    const g: MoeWeights<Float64Array> = {
      router: new Float64Array(E * d),
      experts: Array.from({ length: E }, () => ({ w1: new Float64Array(F * d), w3: new Float64Array(F * d), w2: new Float64Array(d * F) })),
    };
    moeBackward(dx, g, r, x, w, acts, n, cfg, 0, daux);
    checkGradient('x', x, dx, f);
    checkGradient('router', w.router, g.router, f);
    for (let e = 0; e < E; e++) {
      for (const key of ['w1', 'w3', 'w2'] as const) checkGradient(`experts.${e}.${key}`, w.experts[e]![key], g.experts[e]![key], f);
    }
  });
});

const TINY: ModelConfig = { vocabSize: 11, dModel: 8, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 6, contextLength: 8, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.1 };

/** Random float64 parameters, larger than the 0.02 init so that every path contributes visibly. */
function randomParams(cfg: ModelConfig, seed: number): ParamMap<Float64Array> {
  const rng = new Rng(seed);
  const params: ParamMap<Float64Array> = {};
  for (const { name, shape } of parameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params[name] = name.endsWith('_norm') ? randn(rng, n, 0.2, 1) : randn(rng, n, name.endsWith('.router') ? 0.8 : 0.4);
  }
  return params;
}

/** checkGradient at 4 random entries of every parameter tensor (seeded), plus the entries `extra` names. */
function checkSampled(params: ParamMap<Float64Array>, cfg: ModelConfig, grads: ParamMap<Float64Array>, f: () => number, seed: number, extra: (name: string) => number[] = () => []): void {
  const rng = new Rng(seed);
  for (const { name } of parameterShapes(cfg)) {
    const p = params[name]!;
    const indices = Array.from({ length: 4 }, () => rng.nextUint32() % p.length);
    checkGradient(name, p, grads[name]!, f, [...indices, ...extra(name)]);
  }
}

describe('model gradients (float64 finite differences of the full loss)', () => {
  const B = 2;
  const T = 5;
  const inputs = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
  const targets = [1, 4, 1, 5, 9, 2, 6, 5, 3, 5];

  it('matches at sampled entries of every parameter tensor', () => {
    const params = randomParams(TINY, 21);
    const acts = forward(params, TINY, inputs, targets, B, T);
    for (const { acts: layer } of acts.layers) expect(topKMargin(layer.moe.probs, B * T, TINY.nExperts, TINY.topK)).toBeGreaterThan(1e-3);
    expect(acts.aux).toBeGreaterThan(0);
    checkSampled(params, TINY, backward(params, TINY, acts), () => forward(params, TINY, inputs, targets, B, T).loss, 99);
  });

  it('matches with sequence budgets chosen from the prompts and the locality loss', () => {
    const cfg: ModelConfig = { ...TINY, nExperts: 5, sequenceBudgets: { localityLossCoef: 0.5 } };
    const params = randomParams(cfg, 23);
    const routing = { budgets: [{ experts: 3, promptTokens: 2 }, { experts: 2, promptTokens: 5 }] };
    const acts = forward(params, cfg, inputs, targets, B, T, routing);
    expect(acts.layers.map(({ acts: a }) => a.moe.budgetSets!.map((set) => set.length))).toEqual([
      [3, 2],
      [3, 2],
    ]);
    expect(acts.loss).toBeCloseTo(acts.ce + cfg.auxLossCoef * acts.aux + 0.5 * acts.locality, 12);
    checkSampled(params, cfg, backward(params, cfg, acts), () => forward(params, cfg, inputs, targets, B, T, routing).loss, 98);
  });

  it('matches on a grown model, its router normalized over the first experts (issue 14)', () => {
    const cfg: ModelConfig = { ...TINY, nExperts: 6, baseExperts: 4 };
    const params = randomParams(cfg, 25);
    const acts = forward(params, cfg, inputs, targets, B, T);
    for (const { acts: layer } of acts.layers) expect([...layer.moe.experts].some((e) => e >= 4), 'some token routes to a new expert').toBe(true);
    const newRows = Array.from({ length: 2 * cfg.dModel }, (_, i) => 4 * cfg.dModel + i);
    checkSampled(params, cfg, backward(params, cfg, acts), () => forward(params, cfg, inputs, targets, B, T).loss, 97, (name) => (name.endsWith('.router') ? [...newRows, 0, 1, 2] : []));
  });

  it('gives zero expert gradients to experts that received no tokens', () => {
    const params = randomParams(TINY, 22);
    const acts = forward(params, TINY, [7], [2], 1, 1);
    const grads = backward(params, TINY, acts);
    for (const [l, { acts: layer }] of acts.layers.entries()) {
      const used = new Set(layer.moe.experts);
      expect(used.size).toBe(2);
      for (let e = 0; e < TINY.nExperts; e++) {
        for (const key of ['w1', 'w3', 'w2']) {
          const g = grads[`layers.${l}.experts.${e}.${key}`]!;
          const nonzero = g.some((v) => v !== 0);
          expect(nonzero, `layers.${l}.experts.${e}.${key}`).toBe(used.has(e));
        }
      }
      expect(grads[`layers.${l}.router`]!.some((v) => v !== 0)).toBe(true);
    }
  });

  it('float32 gives the same gradients as float64 up to float32 rounding', () => {
    const params = randomParams(TINY, 23);
    const params32 = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float32Array.from(v)]));
    const g64 = backward(params, TINY, forward(params, TINY, inputs, targets, B, T));
    const g32 = backward(params32, TINY, forward(params32, TINY, inputs, targets, B, T));
    for (const { name } of parameterShapes(TINY)) {
      const a = g64[name]!;
      const b = g32[name]!;
      const scale = Math.max(...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${name}[${i}]`).toBeLessThanOrEqual(1e-4 * scale + 1e-7);
    }
  });
});

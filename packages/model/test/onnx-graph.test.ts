/**
 * The graph-builder DSL and single layers of the generated graphs against the reference's ops
 * (tolerance: max |difference| ≤ 1e-5 × max |reference| per tensor; the model-level comparisons
 * are in onnx-forward and onnx-train).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type GraphBuilder, type Value } from '../src/onnx/graph-builder.ts';
import { Graph } from '../src/onnx/graph-ops.ts';
import { attentionBackward, attentionForward, causalBias } from '../src/onnx/layers/attention.ts';
import { rmsnormBackward, rmsnormForward } from '../src/onnx/layers/rmsnorm.ts';
import { ropeInit } from '../src/onnx/layers/rope.ts';
import { sequenceOf } from '../src/onnx/layers/sequence.ts';
import * as ref from '../src/reference/index.ts';
import { expectClose } from './compare.ts';

const TOL = 1e-5;

const randn = (rng: ref.Rng, n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
const f32 = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', data, dims);

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: 1 });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

describe('graph builder', () => {
  it('serializes a model that ONNX Runtime loads and runs (a linear layer with [out, in] weights)', async () => {
    const g = new Graph('linear');
    const x = g.input('x', 'float32', ['n', 3]);
    const w = g.input('w', 'float32', [2, 3]);
    g.output(g.linear(x, w), 'y', 'float32', ['n', 2]);
    const out = await run(g, { x: f32(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), w: f32(Float32Array.of(1, 0, 0, 0, 1, 1), [2, 3]) });
    expect(Array.from(out.y!)).toEqual([1, 5, 4, 11]);
  });

  it('writes float, integer-list and tensor attributes', async () => {
    const g = new Graph('attributes');
    const x = g.input('x', 'float32', [2, 2]);
    g.output(g.node1('LeakyRelu', [g.transpose(x, [1, 0])], { alpha: { float: 0.5 } }), 'y', 'float32', [2, 2]);
    g.output(g.filled(g.shape(x), 7), 'sevens', 'float32', [2, 2]);
    const out = await run(g, { x: f32(Float32Array.of(1, -2, -4, 8), [2, 2]) });
    expect(Array.from(out.y!)).toEqual([1, -2, -1, 8]);
    expect(Array.from(out.sevens!)).toEqual([7, 7, 7, 7]);
  });

  it('rejects duplicate names and non-integer integer attributes', () => {
    const g = new Graph('bad');
    const x = g.input('x', 'float32', [2]);
    expect(() => g.input('x', 'float32', [2])).toThrow('duplicate value name "x"');
    expect(() => g.node1('Softmax', [x], { axis: 0.5 })).toThrow('attribute axis = 0.5: integer attributes must be integers');
  });
});

describe('layers', () => {
  it('RMSNorm forward and backward match the reference', async () => {
    const [n, C, eps] = [5, 7, 1e-5];
    const rng = new ref.Rng(1);
    const [x, w, dy] = [randn(rng, n * C), randn(rng, C), randn(rng, n * C)];
    const g = new Graph('rmsnorm');
    const [xv, wv, dyv] = [g.input('x', 'float32', [n, C]), g.input('w', 'float32', [C]), g.input('dy', 'float32', [n, C])];
    const fwd = rmsnormForward(g, xv, wv, eps);
    const bwd = rmsnormBackward(g, dyv, wv, fwd.saved);
    g.output(fwd.y, 'y', 'float32', [n, C]);
    g.output(bwd.dx, 'dx', 'float32', [n, C]);
    g.output(bwd.dw(), 'dw', 'float32', [C]);
    const out = await run(g, { x: f32(x, [n, C]), w: f32(w, [C]), dy: f32(dy, [n, C]) });
    const [y, rstd, dx, dw] = [new Float32Array(n * C), new Float32Array(n), new Float32Array(n * C), new Float32Array(C)];
    ref.rmsnormForward(y, rstd, x, w, n, C, eps);
    ref.rmsnormBackward(dx, dw, dy, x, w, rstd, n, C);
    expectClose(out.y!, y, 'y', TOL);
    expectClose(out.dx!, dx, 'dx', TOL);
    expectClose(out.dw!, dw, 'dw', TOL);
  });

  it('rotary causal attention forward and backward match the reference (2 sequences, 3 heads)', async () => {
    const cfg: ref.ModelConfig = { vocabSize: 4, dModel: 12, nLayers: 1, nHeads: 3, nExperts: 2, topK: 2, dFF: 4, contextLength: 8, ropeTheta: 100, normEps: 1e-5, auxLossCoef: 0 };
    const [B, T, d, H, hd] = [2, 6, 12, 3, 4];
    const rng = new ref.Rng(2);
    const [q, k, v, dout] = [randn(rng, B * T * d), randn(rng, B * T * d), randn(rng, B * T * d), randn(rng, B * T * d)];
    const g = new Graph('attention');
    const tokens = g.input('tokens', 'int64', [B, T]);
    const [qv, kv, vv, dv] = ['q', 'k', 'v', 'dout'].map((name) => g.input(name, 'float32', [B * T, d])) as [Value, Value, Value, Value];
    const seq = sequenceOf(g, tokens, cfg);
    const rope = ropeInit(g, cfg, seq);
    const fwd = attentionForward(g, qv, kv, vv, seq, rope, causalBias(g, seq), hd);
    const bwd = attentionBackward(g, dv, fwd.saved, seq, rope, hd);
    g.output(fwd.out, 'out', 'float32', [B * T, d]);
    for (const name of ['dq', 'dk', 'dv'] as const) g.output(bwd[name], name, 'float32', [B * T, d]);
    const feeds = { tokens: new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]), q: f32(q, [B * T, d]), k: f32(k, [B * T, d]), v: f32(v, [B * T, d]), dout: f32(dout, [B * T, d]) };
    const out = await run(g, feeds);
    const table = ref.ropeTable(T, hd, cfg.ropeTheta);
    const expected = { out: new Float32Array(B * T * d), dq: new Float32Array(B * T * d), dk: new Float32Array(B * T * d), dv: new Float32Array(B * T * d) };
    for (let b = 0; b < B; b++) {
      const rows = (a: Float32Array): Float32Array => a.subarray(b * T * d, (b + 1) * T * d);
      const [qr, kr] = [rows(q).slice(), rows(k).slice()];
      ref.ropeForward(qr, qr, T, 0, H, hd, table);
      ref.ropeForward(kr, kr, T, 0, H, hd, table);
      const att = new Float32Array(H * T * T);
      ref.attentionForward(rows(expected.out), att, qr, kr, rows(v), T, 0, H, hd);
      const [dqr, dkr] = [new Float32Array(T * d), new Float32Array(T * d)];
      ref.attentionBackward(dqr, dkr, rows(expected.dv), rows(dout), att, qr, kr, rows(v), T, H, hd);
      ref.ropeBackward(rows(expected.dq), dqr, T, 0, H, hd, table);
      ref.ropeBackward(rows(expected.dk), dkr, T, 0, H, hd, table);
    }
    for (const name of ['out', 'dq', 'dk', 'dv'] as const) expectClose(out[name]!, expected[name], name, TOL);
  });
});

import { quantizeInt8, toF32 } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import { expertLayout, routeLayout, tilesFor } from '../src/layout.ts';
import { expertBackwardActKernel, expertBackwardInputKernel, expertDownKernel, expertGrid, expertUpKernel, expertWeightGradKernel, weightGradGrid } from '../src/kernels/expert.ts';
import { dequantKernel } from '../src/kernels/dequant.ts';
import { grid1d } from '../src/kernel.ts';
import { linearGrid, linearKernel } from '../src/kernels/linear.ts';
import { combineBackwardKernel, combineKernel, moeInputGradKernel, routerBackwardKernel } from '../src/kernels/moe.ts';
import { routeKernel, statsStride } from '../src/kernels/route.ts';
import { uniformWith } from '../src/buffers.ts';
import { type ExpertWeights, type LayerRouting, type ModelConfig, type MoeWeights, Rng, moeBackward, moeForward } from '@blyan/model';
import { NO_EXPERT, ROUTE_ALL, ROUTE_ALLOWED, ROUTE_CHOOSE, encodeLayer } from '../src/wgsl.ts';
import { expectClose, gpuDevice, poisoned, randomNormal, readF32, readU32, runKernel, stepUniform, upload } from './gpu.ts';

interface Case {
  /** Expert tile height (route tileRows): 4 for training, the prompt pass's PromptShape.rows. */
  readonly tileRows?: number;
  /** Threads per workgroup of the forward expert kernels (64 by default). */
  readonly threads?: number;
  readonly n: number;
  readonly d: number;
  readonly dFF: number;
  readonly E: number;
  readonly K: number;
}

const config = (c: Case): ModelConfig => ({ vocabSize: 8, dModel: c.d, nLayers: 2, nHeads: 1, nExperts: c.E, topK: c.K, dFF: c.dFF, contextLength: c.n, ropeTheta: 1e4, normEps: 1e-5, auxLossCoef: 0.01 });

/** One MoE layer's weights: random f32 experts quantized to int8 (the reference runs their dequantized values). */
function layerWeights(c: Case, rng: Rng) {
  const experts = Array.from({ length: c.E }, () => {
    const q = {
      w1: quantizeInt8(randomNormal(rng, c.dFF * c.d, 0.2), [c.dFF, c.d]),
      w3: quantizeInt8(randomNormal(rng, c.dFF * c.d, 0.2), [c.dFF, c.d]),
      w2: quantizeInt8(randomNormal(rng, c.d * c.dFF, 0.2), [c.d, c.dFF]),
    };
    return { q, f: { w1: toF32(q.w1), w3: toF32(q.w3), w2: toF32(q.w2) } satisfies ExpertWeights<Float32Array> };
  });
  return { router: randomNormal(rng, c.E * c.d, 0.5), experts };
}

type Weights = ReturnType<typeof layerWeights>;

/** The int8 pool (slot s = expert s) and its scales, as the engine lays them out. */
function pool(device: GPUDevice, c: Case, w: Weights) {
  const x = expertLayout(c.d, c.dFF);
  const bytes = new Uint8Array(c.E * x.elements);
  const scales = new Float32Array(c.E * x.scales);
  for (const [s, { q }] of w.experts.entries()) {
    for (const [name, at, sAt] of [['w1', x.w1, x.s1], ['w3', x.w3, x.s3], ['w2', x.w2, x.s2]] as const) {
      bytes.set(new Uint8Array(q[name].data.buffer, q[name].data.byteOffset, q[name].data.length), s * x.elements + at);
      scales.set(q[name].scales, s * x.scales + sAt);
    }
  }
  return { layout: x, w: upload(device, new Int8Array(bytes.buffer)), w_scales: upload(device, scales) };
}

function table(c: Case, slots: readonly number[], allowed: readonly number[]): Int32Array {
  return Int32Array.from([...slots, ...allowed]);
}

async function forward(device: GPUDevice, c: Case, w: Weights, x: Float32Array, x2: Float32Array, opts: { mode: number; chooseM?: number; allowed?: number[]; slots?: number[]; trained?: number }) {
  const route = routeLayout(c.E, c.K, c.tileRows ?? 4, c.n);
  const p = pool(device, c, w);
  const step = stepUniform(device, { n: c.n, routeMode: opts.mode, chooseM: opts.chooseM ?? 0 });
  const trained = opts.trained ?? NO_EXPERT;
  const layer = uniformWith(device, 'layer', encodeLayer(1, trained, trained, 0.01 / 2));
  const logits = poisoned(device, c.n * c.E);
  const xB = upload(device, x);
  await runKernel(device, linearKernel({ inFeatures: c.d, outFeatures: c.E, weight: 'f32', rowsPerThread: 4, rows: 'step', outRowOffset: false, residual: false }), { step, x: xB, w: upload(device, w.router), y: logits }, linearGrid({ outFeatures: c.E, rowsPerThread: 4 }, c.n));
  const b = {
    plan: route,
    step,
    layer,
    x: xB,
    probs: poisoned(device, c.n * c.E),
    gates: poisoned(device, c.n * c.K),
    route: upload(device, new Uint32Array(route.words).fill(0xdeadbeef)),
    table: upload(device, table(c, opts.slots ?? w.experts.map((_, e) => e), opts.allowed ?? w.experts.map(() => 1))),
    stats: poisoned(device, 2 * statsStride(c.E)),
    status: upload(device, new Uint32Array([0xffffffff])),
    act: poisoned(device, c.n * c.K * c.dFF),
    h13: poisoned(device, 2 * c.n * c.K * c.dFF),
    y: poisoned(device, c.n * c.K * c.d),
    out: poisoned(device, c.n * c.d),
    pool: p,
  };
  await runKernel(device, routeKernel(route), { step, layer, logits, probs: b.probs, gates: b.gates, route: b.route, table: b.table, stats: b.stats, status: b.status }, [1, 1, 1]);
  const tiles = tilesFor(route, c.n);
  const i8 = { expert: p.layout, route, weight: 'i8' as const, threads: c.threads };
  const common = { layer, route: b.route, table: b.table, w: p.w, w_scales: p.w_scales };
  await runKernel(device, expertUpKernel(i8, true), { ...common, x: xB, act: b.act, h13: b.h13 }, expertGrid(c.dFF, tiles, c.threads));
  await runKernel(device, expertDownKernel(i8), { ...common, act: b.act, y: b.y }, expertGrid(c.d, tiles, c.threads));
  let f32Expert: GPUBuffer | null = null;
  if (opts.trained !== undefined) {
    f32Expert = poisoned(device, p.layout.elements);
    const init = poisoned(device, p.layout.elements);
    await runKernel(device, dequantKernel(p.layout), { layer, table: b.table, pool: p.w, scales: p.w_scales, param: f32Expert, init }, grid1d(p.layout.elements));
    const f32 = { expert: p.layout, route, weight: 'f32' as const };
    await runKernel(device, expertUpKernel(f32, true), { layer, route: b.route, w: f32Expert, x: xB, act: b.act, h13: b.h13 }, expertGrid(c.dFF, tiles));
    await runKernel(device, expertDownKernel(f32), { layer, route: b.route, w: f32Expert, act: b.act, y: b.y }, expertGrid(c.d, tiles));
  }
  await runKernel(device, combineKernel(route, c.d), { step, route: b.route, gates: b.gates, y: b.y, x2: upload(device, x2), out: b.out }, grid1d(c.n * c.d));
  return { ...b, f32Expert, tiles };
}

function reference(c: Case, w: Weights, x: Float32Array, routing: LayerRouting, present?: readonly boolean[]) {
  const moe: MoeWeights<Float32Array> = { router: w.router, experts: w.experts.map((e, i) => (present && !present[i] ? null : e.f)) };
  return { moe, acts: moeForward(moe, x, c.n, config(c), 1, routing) };
}

const concat = (parts: readonly Float32Array[]): Float32Array => {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const CASES: readonly Case[] = [
  { n: 1, d: 16, dFF: 24, E: 4, K: 2 },
  { n: 7, d: 12, dFF: 10, E: 5, K: 2 },
  { n: 13, d: 13, dFF: 9, E: 3, K: 1 },
  { n: 40, d: 64, dFF: 96, E: 8, K: 2 },
  { n: 5, d: 16, dFF: 24, E: 4, K: 2, tileRows: 16, threads: 4 },
  { n: 70, d: 64, dFF: 96, E: 6, K: 2, tileRows: 16, threads: 16 },
];

describe('MoE layer on int8 experts', () => {
  for (const c of CASES) {
    it(`n ${c.n}, d ${c.d}, dFF ${c.dFF}, ${c.E} experts, top-${c.K}, tiles of ${c.tileRows ?? 4}${c.threads ? `, ${c.threads}-thread workgroups` : ''}: routing, grouped experts, combine`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(c.n * 7 + c.d);
      const w = layerWeights(c, rng);
      const x = randomNormal(rng, c.n * c.d);
      const x2 = randomNormal(rng, c.n * c.d);
      const g = await forward(device, c, w, x, x2, { mode: ROUTE_ALL });
      const { acts } = reference(c, w, x, null);
      expectClose(await readF32(device, g.probs, c.n * c.E), acts.probs, 'router probabilities');
      expectClose(await readF32(device, g.gates, c.n * c.K), acts.weights, 'gates');
      const r = await readU32(device, g.route, g.plan.words);
      expect(Array.from(r.subarray(r.length - c.n * c.K))).toEqual(Array.from(acts.experts));
      const order = acts.groups.flatMap((grp) => Array.from(grp.tokens, (t, a) => t * c.K + grp.slots[a]!));
      expect(Array.from(r.subarray(g.plan.order, g.plan.order + c.n * c.K))).toEqual(order);
      expect(r[g.plan.tileCount]).toBeLessThanOrEqual(g.tiles);
      const stats = await readF32(device, g.stats, statsStride(c.E), statsStride(c.E));
      expectClose(stats.subarray(0, c.E), acts.load, 'load');
      expectClose([stats[2 * c.E]!], [acts.aux], 'aux loss');
      expectClose(await readF32(device, g.act, c.n * c.K * c.dFF), concat(acts.groups.map((grp) => grp.act)), 'act');
      expectClose(await readF32(device, g.h13, c.n * c.K * c.dFF), concat(acts.groups.map((grp) => grp.h1)), 'h1');
      expectClose(await readF32(device, g.y, c.n * c.K * c.d), concat(acts.groups.map((grp) => grp.y)), 'expert outputs');
      expectClose(await readF32(device, g.out, c.n * c.d), x2.map((v, i) => v + acts.out[i]!), 'residual + MoE');
      expect((await readU32(device, g.status, 1))[0]).toBe(0xffffffff);
    });
  }

  it('runs the trained expert from its f32 copy and the rest from the pool', async () => {
    const c = CASES[3]!;
    const device = await gpuDevice();
    const rng = new Rng(5);
    const w = layerWeights(c, rng);
    const x = randomNormal(rng, c.n * c.d);
    const x2 = new Float32Array(c.n * c.d);
    const g = await forward(device, c, w, x, x2, { mode: ROUTE_ALL, trained: 3 });
    const { acts } = reference(c, w, x, null);
    expectClose(await readF32(device, g.y, c.n * c.K * c.d), concat(acts.groups.map((grp) => grp.y)), 'expert outputs');
    expectClose(await readF32(device, g.out, c.n * c.d), acts.out, 'MoE');
    const f = w.experts[3]!.f;
    const layout = g.pool.layout;
    const copy = await readF32(device, g.f32Expert!, layout.elements);
    expectClose(copy.subarray(layout.w1, layout.w1 + c.d * c.dFF), f.w1, 'dequantized w1', 1e-7);
    expectClose(copy.subarray(layout.w2, layout.w2 + c.d * c.dFF), f.w2, 'dequantized w2', 1e-7);
  });

  it('routes within allowed sets, and chooses and stores them from the tokens', async () => {
    const c = CASES[3]!;
    const device = await gpuDevice();
    const rng = new Rng(9);
    const w = layerWeights(c, rng);
    const x = randomNormal(rng, c.n * c.d);
    const x2 = new Float32Array(c.n * c.d);
    const allowed = [0, 2, 3, 6];
    const fixed = await forward(device, c, w, x, x2, { mode: ROUTE_ALLOWED, allowed: w.experts.map((_, e) => (allowed.includes(e) ? 1 : 0)) });
    expectClose(await readF32(device, fixed.out, c.n * c.d), reference(c, w, x, allowed).acts.out, 'static routing');
    const chosen = await forward(device, c, w, x, x2, { mode: ROUTE_CHOOSE, chooseM: 3 });
    const { acts } = reference(c, w, x, { choose: 3 });
    expectClose(await readF32(device, chosen.out, c.n * c.d), acts.out, 'static-prompt routing');
    const flags = new Int32Array((await readU32(device, chosen.table, 2 * c.E)).buffer).subarray(c.E);
    expect(Array.from(flags)).toEqual(w.experts.map((_, e) => (acts.allowed!.includes(e) ? 1 : 0)));
  });

  it('reports the first missing expert a token was routed to', async () => {
    const c = CASES[3]!;
    const device = await gpuDevice();
    const rng = new Rng(11);
    const w = layerWeights(c, rng);
    const x = randomNormal(rng, c.n * c.d);
    const { acts } = reference(c, w, x, null);
    const used = [...new Set(acts.experts)].sort((a, b) => a - b);
    const slots = w.experts.map((_, e) => (e === used[1] || e === used[2] ? -1 : e));
    const g = await forward(device, c, w, x, new Float32Array(c.n * c.d), { mode: ROUTE_ALL, slots });
    expect((await readU32(device, g.status, 1))[0]).toBe(1 * c.E + used[1]!);
  });
});

describe('MoE layer backward', () => {
  for (const c of CASES.slice(1)) {
    it(`n ${c.n}, d ${c.d}, dFF ${c.dFF}: input gradient through experts and router, trained expert's weight gradients`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(c.n + c.dFF);
      const w = layerWeights(c, rng);
      const x = randomNormal(rng, c.n * c.d);
      const dout = randomNormal(rng, c.n * c.d);
      const g = await forward(device, c, w, x, new Float32Array(c.n * c.d), { mode: ROUTE_ALL });
      const { moe, acts } = reference(c, w, x, null);
      const A = c.n * c.K;
      const dy = poisoned(device, A * c.d);
      const dgates = poisoned(device, A);
      const dh13 = poisoned(device, 2 * A * c.dFF);
      const dxg = poisoned(device, A * c.d);
      const dlogits = poisoned(device, c.n * c.E);
      const dx = poisoned(device, c.n * c.d);
      const trained = 1;
      device.queue.writeBuffer(g.layer, 0, encodeLayer(1, trained, trained, 0.01 / 2));
      await runKernel(device, combineBackwardKernel(g.plan, c.d), { step: g.step, route: g.route, gates: g.gates, dout: upload(device, dout), y: g.y, dy, dgates }, [A, 1, 1]);
      const f32Expert = poisoned(device, g.pool.layout.elements);
      await runKernel(device, dequantKernel(g.pool.layout), { layer: g.layer, table: g.table, pool: g.pool.w, scales: g.pool.w_scales, param: f32Expert, init: poisoned(device, g.pool.layout.elements) }, grid1d(g.pool.layout.elements));
      const i8 = { expert: g.pool.layout, route: g.plan, weight: 'i8' as const };
      const f32 = { expert: g.pool.layout, route: g.plan, weight: 'f32' as const };
      const pooled = { layer: g.layer, route: g.route, table: g.table, w: g.pool.w, w_scales: g.pool.w_scales };
      const own = { layer: g.layer, route: g.route, w: f32Expert };
      await runKernel(device, expertBackwardActKernel(i8), { ...pooled, dy, h13: g.h13, dh13 }, expertGrid(c.dFF, g.tiles));
      await runKernel(device, expertBackwardActKernel(f32), { ...own, dy, h13: g.h13, dh13 }, expertGrid(c.dFF, g.tiles));
      await runKernel(device, expertBackwardInputKernel(i8), { ...pooled, dh13, dx: dxg }, expertGrid(c.d, g.tiles));
      await runKernel(device, expertBackwardInputKernel(f32), { ...own, dh13, dx: dxg }, expertGrid(c.d, g.tiles));
      await runKernel(device, routerBackwardKernel(g.plan), { step: g.step, layer: g.layer, route: g.route, probs: g.probs, dgates, stats: g.stats, dlogits }, [Math.ceil(c.n / 64), 1, 1]);
      await runKernel(device, moeInputGradKernel(g.plan, c.d), { step: g.step, route: g.route, dxg, dlogits, router: upload(device, w.router), dx }, grid1d(c.n * c.d));

      const l = g.pool.layout;
      const grad = upload(device, new Float32Array(l.elements));
      const weightGrad = (rows: number, cols: number, gOffset: number, dwOffset: number, gather: boolean, gBuf: GPUBuffer, xBuf: GPUBuffer) =>
        runKernel(device, expertWeightGradKernel({ route: g.plan, rows, cols, gOffset, dwOffset, gather }), { layer: g.layer, route: g.route, g: gBuf, x: xBuf, dw: grad }, weightGradGrid(rows, cols));
      await weightGrad(c.d, c.dFF, 0, l.w2, false, dy, g.act);
      await weightGrad(c.dFF, c.d, 0, l.w1, true, dh13, g.x);
      await weightGrad(c.dFF, c.d, A * c.dFF, l.w3, true, dh13, g.x);

      const edx = new Float32Array(c.n * c.d);
      const eg: MoeWeights<Float32Array> = {
        router: new Float32Array(c.E * c.d),
        experts: w.experts.map(() => ({ w1: new Float32Array(c.dFF * c.d), w3: new Float32Array(c.dFF * c.d), w2: new Float32Array(c.d * c.dFF) })),
      };
      moeBackward(edx, eg, dout, x, moe, acts, c.n, config(c), 1, 0.01 / 2);
      expectClose(await readF32(device, dy, A * c.d), concat(acts.groups.map((grp) => { const out = new Float32Array(grp.tokens.length * c.d); grp.tokens.forEach((t, a) => { for (let k = 0; k < c.d; k++) out[a * c.d + k] = acts.weights[t * c.K + grp.slots[a]!]! * dout[t * c.d + k]!; }); return out; })), 'dy');
      expectClose(await readF32(device, dx, c.n * c.d), edx, 'dx');
      const gr = await readF32(device, grad, l.elements);
      const e = eg.experts[trained]!;
      expectClose(gr.subarray(l.w1, l.w1 + c.d * c.dFF), e.w1, 'dw1');
      expectClose(gr.subarray(l.w3, l.w3 + c.d * c.dFF), e.w3, 'dw3');
      expectClose(gr.subarray(l.w2, l.w2 + c.d * c.dFF), e.w2, 'dw2');
    });
  }
});

import { type KernelSpec, kernelSpec, read, readWrite } from '../kernel.ts';
import { type ModelConfig, headDim } from '@blyan/model';
import { type ExpertLayout, grownTag } from '../layout.ts';
import { weightInput } from '../loads.ts';
import { routerSoftmaxWgsl } from './route.ts';
import { attendWgsl } from './attention.ts';
import { LAYER, REDUCE_WGSL, STEP, type Storage, f32Literal } from '../wgsl.ts';

/**
 * Fused kernels of the one-token decode pass, where a step is latency-bound: each replaces a chain
 * of the prompt pass's dispatches for the single row 0, with the same arithmetic in the same order
 * per element (sums may associate differently, as any two matrix kernels do).
 */

const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * Workgroup memory in bytes of the largest fused decode kernel for `cfg` (attention out holds the
 * scores of every cached key, the MoE block the activations of its K experts): the adapter must
 * allow it for the fused pass.
 */
export function decodeWorkgroupBytes(cfg: ModelConfig): number {
  const { dModel: d, dFF: F, nExperts: E, topK: K, contextLength: keys } = cfg;
  const attentionOut = keys + headDim(cfg) + pad4(d) + 64;
  const moe = pad4(d) + 2 * E + 3 * K + K * pad4(F) + 64;
  return 4 * Math.max(attentionOut, moe);
}

/**
 * WGSL fn dot_NAME(base, o, at) = Σ_k W[o, k] · v[at + k] over a row of `cols`, W's four
 * elements k … k+3 of row o loaded by `load(base, o, k)` (zero past the row's end) and `v` a
 * workgroup vector padded with zeros to a multiple of 4.
 */
function rowDot(name: string, cols: number, v: string, load: (base: string, o: string, k: string) => string): string {
  return `fn dot_${name}(base: u32, o: u32, at: u32) -> f32 {
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < ${cols}u; k += 4u) {
    acc += ${load('base', 'o', 'k')} * vec4<f32>(${v}[at + k], ${v}[at + k + 1u], ${v}[at + k + 2u], ${v}[at + k + 3u]);
  }
  return acc.x + acc.y + acc.z + acc.w;
}`;
}

/** WGSL i8_4(first, k, cols): int8 elements first … first+3 of a row of `cols` in `w` (k = first's column), zero past the row. */
const I8_ROW = /* wgsl */ `
fn i8_at(i: u32) -> f32 { return f32(extractBits(bitcast<i32>(w[i >> 2u]), (i & 3u) * 8u, 8u)); }
fn i8_4(first: u32, k: u32, cols: u32) -> vec4<f32> {
  if ((first & 3u) == 0u && k + 3u < cols) { return unpack_i8(w[first >> 2u]); }
  var v = vec4<f32>(i8_at(first), 0.0, 0.0, 0.0);
  if (k + 1u < cols) { v.y = i8_at(first + 1u); }
  if (k + 2u < cols) { v.z = i8_at(first + 2u); }
  if (k + 3u < cols) { v.w = i8_at(first + 3u); }
  return v;
}`;

/**
 * The attention's input side for one token, one thread per rotary pair of q, k or v (a grid of
 * ceil(3d/2 / 64) workgroups): RMSNorm of x's row 0 (each workgroup reduces it again), the q, k
 * and v projections of the two columns of the pair, rotary positions at step.start on q and k, q
 * to `q` and k, v appended to the layer's KV cache `kv` at row step.start (stored as `s`, values
 * from element `vOffset` on). Replaces rmsnorm, three linear kernels and rope.
 */
export function decodeAttentionInKernel(nHeads: number, headDim: number, eps: number, s: Storage, vOffset: number): KernelSpec {
  const d = nHeads * headDim;
  const D4 = pad4(d);
  const half = headDim / 2;
  const ws = ['wq', 'wk', 'wv'].map((n) => weightInput(n, s, d));
  return kernelSpec(
    `decode attention in H${nHeads} hd${headDim} ${s}`,
    [STEP, read('x'), read('norm'), ...ws.flatMap((w) => w.bindings), read('table', 'array<vec2<f32>>'), readWrite('q'), readWrite('kv', `array<${s}>`)],
    /* wgsl */ `
${REDUCE_WGSL}
${ws.map((w) => w.fns).join('\n')}
var<workgroup> xs: array<f32, ${D4}>;
${['wq', 'wk', 'wv'].map((w) => rowDot(w, d, 'xs', (base, o, k) => `${w}_4(${base}, ${o}, ${k})`)).join('\n')}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  for (var c = lid; c < ${d}u; c += 64u) { ss += x[c] * x[c]; }
  let r = 1.0 / sqrt(reduce_sum(lid, ss) / ${d}.0 + ${f32Literal(eps)});
  for (var c = lid; c < ${D4}u; c += 64u) { xs[c] = select(0.0, x[min(c, ${d - 1}u)] * r * norm[min(c, ${d - 1}u)], c < ${d}u); }
  workgroupBarrier();
  let p = wid.x * 64u + lid;
  if (p >= ${(3 * d) / 2}u) { return; }
  let which = p / ${d / 2}u;
  let pair = p % ${d / 2}u;
  let col = (pair / ${half}u) * ${headDim}u + 2u * (pair % ${half}u);
  let at = step.start * ${d}u + col;
  if (which == 2u) {
    kv[${vOffset}u + at] = ${s}(dot_wv(0u, col, 0u));
    kv[${vOffset}u + at + 1u] = ${s}(dot_wv(0u, col + 1u, 0u));
    return;
  }
  let t = table[step.start * ${half}u + pair % ${half}u];
  var a = 0.0;
  var b = 0.0;
  if (which == 0u) {
    a = dot_wq(0u, col, 0u);
    b = dot_wq(0u, col + 1u, 0u);
    q[col] = a * t.x - b * t.y;
    q[col + 1u] = a * t.y + b * t.x;
  } else {
    a = f32(${s}(dot_wk(0u, col, 0u)));
    b = f32(${s}(dot_wk(0u, col + 1u, 0u)));
    kv[at] = ${s}(a * t.x - b * t.y);
    kv[at + 1u] = ${s}(a * t.y + b * t.x);
  }
}`,
  );
}

export const decodeAttentionInGrid = (d: number): [number, number, number] => [Math.ceil((3 * d) / 2 / 64), 1, 1];

/**
 * The whole MoE block of one token in one 64-thread workgroup (dispatch [1, 1, 1]), from the
 * residual row x2 (row 0) to out = x2 + Σ gate · expert(ln):
 * 1. ln = RMSNorm(x2) · norm and the router logits, in workgroup memory;
 * 2. routing as routeKernel does it for one row (softmax over the baseExperts; allowed experts by step.routeMode,
 *    mode 2 storing the chosen set in `table`; top-K by probability, ties to the lower index,
 *    renormalized gates; a chosen expert without a pool slot lowers `status`);
 * 3. per chosen expert (int8, from the layer's pool) act = silu(w1 · ln) ⊙ (w3 · ln);
 * 4. out = x2 + Σ gate · (w2 · act) over the experts in ascending order, as combineKernel adds
 *    them.
 * Replaces rmsnorm, the router's linear kernel, routeKernel, the expert up and down kernels and
 * combine. The one-token pass keeps no routing statistics (only training reads them).
 */
export function decodeMoeKernel(x: ExpertLayout, experts: number, topK: number, eps: number, baseExperts = experts): KernelSpec {
  const { d, dFF: F } = x;
  const [D4, F4, E, K, B] = [pad4(d), pad4(F), experts, topK, baseExperts];
  const w = weightInput('w', 'i8', d);
  const router = weightInput('router', 'f32', d);
  return kernelSpec(
    `decode moe d${d} F${F} E${E}${grownTag({ experts: E, baseExperts: B })} K${K}`,
    [STEP, LAYER, read('x2'), read('norm'), ...router.bindings, readWrite('table', 'array<i32>'), ...w.bindings, readWrite('status', 'atomic<u32>'), readWrite('out')],
    /* wgsl */ `
${REDUCE_WGSL}
${w.fns}
${router.fns}
${I8_ROW}
var<workgroup> xs: array<f32, ${D4}>;
var<workgroup> probs: array<f32, ${E}>;
var<workgroup> allowed: array<u32, ${E}>;
var<workgroup> chosen: array<u32, ${K}>;
var<workgroup> gates: array<f32, ${K}>;
var<workgroup> slots: array<i32, ${K}>;
var<workgroup> act: array<f32, ${K * F4}>;
${rowDot('router', d, 'xs', (base, o, k) => `router_4(${base}, ${o}, ${k})`)}
${rowDot('up', d, 'xs', (base, o, k) => `i8_4(${base} + ${o} * ${d}u + ${k}, ${k}, ${d}u)`)}
${rowDot('down', F, 'act', (base, o, k) => `i8_4(${base} + ${o} * ${F}u + ${k}, ${k}, ${F}u)`)}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  for (var c = lid; c < ${d}u; c += 64u) { ss += x2[c] * x2[c]; }
  let r = 1.0 / sqrt(reduce_sum(lid, ss) / ${d}.0 + ${f32Literal(eps)});
  for (var c = lid; c < ${D4}u; c += 64u) { xs[c] = select(0.0, x2[min(c, ${d - 1}u)] * r * norm[min(c, ${d - 1}u)], c < ${d}u); }
  workgroupBarrier();
  for (var e = lid; e < ${E}u; e += 64u) { probs[e] = dot_router(0u, e, 0u); }
  workgroupBarrier();
  if (lid == 0u) {
    ${routerSoftmaxWgsl((e) => `probs[${e}]`, (e, p) => `probs[${e}] = ${p};`, `${B}u`, `${E}u`)}
    for (var e = 0u; e < ${E}u; e++) {
      var ok = 1u;
      if (step.routeMode == 1u) {
        ok = u32(table[${E}u + e]);
      } else if (step.routeMode == 2u) {
        var rank = 0u;
        for (var f = 0u; f < ${E}u; f++) {
          if (probs[f] > probs[e] || (probs[f] == probs[e] && f < e)) { rank++; }
        }
        ok = select(0u, 1u, rank < step.chooseM);
        table[${E}u + e] = i32(ok);
      }
      allowed[e] = ok;
    }
    var total = 0.0;
    for (var s = 0u; s < ${K}u; s++) {
      var best = ${E}u;
      for (var e = 0u; e < ${E}u; e++) {
        if (allowed[e] == 0u) { continue; }
        var taken = false;
        for (var q = 0u; q < s; q++) { if (chosen[q] == e) { taken = true; } }
        if (taken) { continue; }
        if (best == ${E}u || probs[e] > probs[best]) { best = e; }
      }
      chosen[s] = best;
      total += probs[best];
      let slot = table[best];
      if (slot < 0 && best != layer.onlyExpert) { atomicMin(&status, layer.layer * ${E}u + best); }
      slots[s] = select(slot, -1, best == layer.skipExpert);
    }
    for (var s = 0u; s < ${K}u; s++) { gates[s] = probs[chosen[s]] / total; }
  }
  workgroupBarrier();
  for (var i = lid; i < ${K * F4}u; i += 64u) {
    let s = i / ${F4}u;
    let f = i % ${F4}u;
    let slot = slots[s];
    var a = 0.0;
    if (slot >= 0 && f < ${F}u) {
      let base = u32(slot) * ${x.elements}u;
      let sbase = u32(slot) * ${x.scales}u;
      let h1 = dot_up(base + ${x.w1}u, f, 0u) * w_s(sbase + ${x.s1}u, f);
      let h3 = dot_up(base + ${x.w3}u, f, 0u) * w_s(sbase + ${x.s3}u, f);
      a = h1 / (1.0 + exp(-h1)) * h3;
    }
    act[i] = a;
  }
  workgroupBarrier();
  for (var c = lid; c < ${d}u; c += 64u) {
    var acc = 0.0;
    var prev = -1;
    for (var q = 0u; q < ${K}u; q++) {
      var s = 0u;
      var best = ${E}u;
      for (var j = 0u; j < ${K}u; j++) {
        let e = chosen[j];
        if (i32(e) > prev && e < best) { best = e; s = j; }
      }
      prev = i32(best);
      let slot = slots[s];
      if (slot >= 0) {
        let y = dot_down(u32(slot) * ${x.elements}u + ${x.w2}u, c, s * ${F4}u) * w_s(u32(slot) * ${x.scales}u + ${x.s2}u, c);
        acc += gates[s] * y;
      }
    }
    out[c] = x2[c] + acc;
  }
}`,
  );
}

/**
 * The attention of one token with its output projection, in one 64-thread workgroup (dispatch
 * [1, 1, 1]): per head in turn, as attentionKernel does it, scores of q against the step.start + 1
 * cached keys, softmax with the max subtracted, Σ p_j v_j into workgroup memory; then
 * x2 = x + wo · attention (the residual). The KV cache `kv` holds keys, then values from element
 * `vOffset` on, stored as `s`. Replaces attentionKernel and the residual linear kernel.
 */
export function decodeAttentionOutKernel(nHeads: number, headDim: number, maxKeys: number, s: Storage, vOffset: number): KernelSpec {
  const hd = headDim;
  const d = nHeads * hd;
  const D4 = pad4(d);
  const wo = weightInput('wo', s, d);
  return kernelSpec(
    `decode attention out H${nHeads} hd${hd} keys${maxKeys} ${s}`,
    [STEP, read('q'), read('kv', `array<${s}>`), ...wo.bindings, read('x'), readWrite('x2')],
    /* wgsl */ `
${REDUCE_WGSL}
${wo.fns}
var<workgroup> scores: array<f32, ${maxKeys}>;
var<workgroup> qs: array<f32, ${hd}>;
var<workgroup> att: array<f32, ${D4}>;
${rowDot('wo', d, 'att', (base, o, k) => `wo_4(${base}, ${o}, ${k})`)}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  let keys = step.start + 1u;
  for (var h = 0u; h < ${nHeads}u; h++) {
    let col = h * ${hd}u;
    for (var c = lid; c < ${hd}u; c += 64u) { qs[c] = q[col + c]; }
    workgroupBarrier();
    ${attendWgsl(hd, 'kv', (j) => `${j} * ${d}u + col`, 'kv', (j) => `${vOffset}u + ${j} * ${d}u + col`, (c, acc) => `att[col + ${c}] = ${acc};`)}
    workgroupBarrier();
  }
  for (var c = ${d}u + lid; c < ${D4}u; c += 64u) { att[c] = 0.0; }
  workgroupBarrier();
  for (var o = lid; o < ${d}u; o += 64u) { x2[o] = x[o] + dot_wo(0u, o, 0u); }
}`,
  );
}

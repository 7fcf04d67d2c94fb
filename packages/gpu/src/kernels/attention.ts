import { type KernelSpec, kernelSpec, main1d, read, readWrite } from '../kernel.ts';
import { REDUCE_WGSL, STEP, type Storage, f32Literal, unroll } from '../wgsl.ts';

export interface AttentionShape {
  readonly nHeads: number;
  readonly headDim: number;
  /** Most keys one query can see: the context length (inference) or T (training). */
  readonly maxKeys: number;
}

/** Workgroup memory of attentionKernel in bytes: the adapter must allow it. */
export const attentionWorkgroupBytes = (s: AttentionShape): number => 4 * (s.maxKeys + s.headDim + 64);

/**
 * WGSL, one head of one query in a 64-thread workgroup (uniform control flow; `qs` holds the
 * query's head in workgroup memory): scores[j] = exp(q · k_j / sqrt(hd) − max) for the `keys` keys,
 * `sum` their sum, then `store(c, acc)` for each column c of Σ_j p_j v_j (Σ_j scores[j] v_j / sum: one
 * division per column, not per key). `kAt(j)` and `vAt(j)` are
 * the element indices of key j's and value j's head in `kBuf` and `vBuf`.
 */
export function attendWgsl(hd: number, kBuf: string, kAt: (j: string) => string, vBuf: string, vAt: (j: string) => string, store: (c: string, acc: string) => string): string {
  return `var mx = -3.0e38;
  for (var j = lid; j < keys; j += 64u) {
    let kr = ${kAt('j')};
    var sc = 0.0;
    for (var c = 0u; c < ${hd}u; c++) { sc += qs[c] * f32(${kBuf}[kr + c]); }
    sc *= ${f32Literal(1 / Math.sqrt(hd))};
    scores[j] = sc;
    mx = max(mx, sc);
  }
  mx = reduce_max(lid, mx);
  var sum = 0.0;
  for (var j = lid; j < keys; j += 64u) {
    let e = exp(scores[j] - mx);
    scores[j] = e;
    sum += e;
  }
  sum = reduce_sum(lid, sum);
  for (var c = lid; c < ${hd}u; c += 64u) {
    var acc = 0.0;
    for (var j = 0u; j < keys; j++) { acc += scores[j] * f32(${vBuf}[${vAt('j')} + c]); }
    acc /= sum;
    ${store('c', 'acc')}
  }`;
}

/**
 * Causal attention, one 64-thread workgroup per (query row m, head h), dispatched [n, H]. Row m is
 * query i = m mod seqLen of sequence b = m / seqLen at position start + i; it attends to keys
 * 0 … start + i, which sit at rows b · seqLen + j of the key and value buffers (the KV cache when
 * decoding, B = 1). Scores go to workgroup memory, softmax with the max subtracted, then each
 * thread sums Σ_j p_j v_j for its columns. With `keepProbs` the probabilities go to
 * att [B, H, seqLen, start + seqLen], zero above the diagonal, for the backward pass.
 * `kv` f16: keys and values are an f16 KV cache, widened to f32 as they are read. `cacheRows` > 0:
 * row m is one token of sequence m at position positions[m], attending to rows m · cacheRows …
 * m · cacheRows + positions[m] (batched decoding: one KV cache of cacheRows rows per sequence).
 */
export function attentionKernel(s: AttentionShape, keepProbs: boolean, kv: Storage = 'f32', cacheRows = 0): KernelSpec {
  const { nHeads: H, headDim: hd, maxKeys } = s;
  const d = H * hd;
  return kernelSpec(
    `attention H${H} hd${hd} keys${maxKeys}${keepProbs ? ' probs' : ''} kv ${kv}${cacheRows ? ` sequences of ${cacheRows}` : ''}`,
    [STEP, read('q'), read('k', `array<${kv}>`), read('v', `array<${kv}>`), readWrite('out'), keepProbs && readWrite('att'), cacheRows > 0 && read('positions', 'array<u32>')],
    /* wgsl */ `
${REDUCE_WGSL}
var<workgroup> scores: array<f32, ${maxKeys}>;
var<workgroup> qs: array<f32, ${hd}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x;
  let h = wid.y;
  if (m >= step.n) { return; }
  let T = step.seqLen;
  let i = m % T;
  let kv0 = ${cacheRows ? `m * ${cacheRows}u` : '(m / T) * T'};
  let keys = ${cacheRows ? 'positions[m] + 1u' : 'step.start + i + 1u'};
  let col = h * ${hd}u;
  for (var c = lid; c < ${hd}u; c += 64u) { qs[c] = q[m * ${d}u + col + c]; }
  workgroupBarrier();
  ${attendWgsl(hd, 'k', (j) => `(kv0 + ${j}) * ${d}u + col`, 'v', (j) => `(kv0 + ${j}) * ${d}u + col`, (c, acc) => `out[m * ${d}u + col + ${c}] = ${acc};`)}
  ${
    keepProbs
      ? `let width = step.start + T;
  let arow = ((m / T) * ${H}u + h) * T + i;
  for (var j = lid; j < width; j += 64u) { att[arow * width + j] = select(0.0, scores[j] / sum, j < keys); }`
      : ''
  }
}`,
  );
}

/**
 * Query rows (threads) per workgroup of promptAttentionKernel in the prompt pass: a CPU adapter's
 * SIMD width (4 on SwiftShader, 8 on lavapipe with AVX2), so that a short prompt still gives
 * every core workgroups.
 */
export const PROMPT_ATTENTION_ROWS = 8;

/**
 * Causal attention of a prompt (one sequence, rows m at positions start + m, keys in the KV cache
 * from row 0), one thread per (query row, head), `rows` rows of one head per workgroup,
 * dispatched [ceil(n / rows), H]. Made for adapters that run a workgroup's invocations as SIMD
 * lanes of a CPU (SwiftShader, lavapipe): no workgroup memory and no barriers; every lane of a
 * workgroup reads the same key and value at the same time (one broadcast load, not a gather), and
 * each thread keeps its query and its output in registers, with the softmax taken online (running
 * maximum and sum, rescaled when the maximum grows): out = Σ_j e^(s_j − max) v_j / Σ_j e^(s_j − max).
 */
export function promptAttentionKernel(s: AttentionShape, kv: Storage, rows: number): KernelSpec {
  const { nHeads: H, headDim: hd } = s;
  const d = H * hd;
  const w = hd % 4 === 0 ? 4 : 1;
  const chunks = hd / w;
  const t = w === 4 ? 'vec4<f32>' : 'f32';
  const kvType = w === 4 ? `vec4<${kv}>` : kv;
  const dot = (a: string, b: string) => (w === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
  return kernelSpec(
    `prompt attention H${H} hd${hd} kv ${kv} rows${rows}`,
    [STEP, read('q', `array<${t}>`), read('k', `array<${kvType}>`), read('v', `array<${kvType}>`), readWrite('out', `array<${t}>`)],
    /* wgsl */ `
@compute @workgroup_size(${rows})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.x * ${rows}u;
  if (m0 >= step.n) { return; }
  let m = min(m0 + lid, step.n - 1u);
  let at = (m * ${d}u + wid.y * ${hd}u) / ${w}u;
  let col = wid.y * ${hd / w}u;
  ${unroll(chunks, (i) => `let q${i} = q[at + ${i}u] * ${f32Literal(1 / Math.sqrt(hd))};
  var o${i} = ${t}(0.0);`)}
  let keys = step.start + m + 1u;
  let last = step.start + min(m0 + ${rows}u, step.n);
  var mx = -3.0e38;
  var sum = 0.0;
  for (var j = 0u; j < last; j++) {
    let kr = j * ${d / w}u + col;
    let sc = ${Array.from({ length: chunks }, (_, i) => dot(`q${i}`, `${t}(k[kr + ${i}u])`)).join(' + ')};
    if (j < keys) {
      let next = max(mx, sc);
      let old = exp(mx - next);
      let e = exp(sc - next);
      sum = sum * old + e;
      ${unroll(chunks, (i) => `o${i} = o${i} * old + e * ${t}(v[kr + ${i}u]);`)}
      mx = next;
    }
  }
  if (m0 + lid < step.n) {
    ${unroll(chunks, (i) => `out[at + ${i}u] = o${i} / sum;`)}
  }
}`,
  );
}

/**
 * First half of attention's backward (training: start = 0), per (row m = query i of sequence b,
 * head h), with p the stored probabilities and dout the gradient of the output:
 *   dp_j = dout · v_j,  ds_j = p_j (dp_j − Σ_k p_k dp_k) / sqrt(headDim),  dq = Σ_j ds_j k_j.
 * ds goes to `ds` [B, H, T, T] (zero above the diagonal) for attentionBackwardKV.
 */
export function attentionBackwardQKernel(s: AttentionShape): KernelSpec {
  const { nHeads: H, headDim: hd, maxKeys } = s;
  const d = H * hd;
  return kernelSpec(
    `attention backward q H${H} hd${hd} T${maxKeys}`,
    [STEP, read('dout'), read('k'), read('v'), read('att'), readWrite('ds'), readWrite('dq')],
    /* wgsl */ `
${REDUCE_WGSL}
var<workgroup> dps: array<f32, ${maxKeys}>;
var<workgroup> gs: array<f32, ${hd}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x;
  let h = wid.y;
  if (m >= step.n) { return; }
  let T = step.seqLen;
  let i = m % T;
  let kv0 = (m / T) * T;
  let col = h * ${hd}u;
  let arow = (((m / T) * ${H}u + h) * T + i) * T;
  for (var c = lid; c < ${hd}u; c += 64u) { gs[c] = dout[m * ${d}u + col + c]; }
  workgroupBarrier();
  var pdp = 0.0;
  for (var j = lid; j <= i; j += 64u) {
    let vr = (kv0 + j) * ${d}u + col;
    var dp = 0.0;
    for (var c = 0u; c < ${hd}u; c++) { dp += gs[c] * v[vr + c]; }
    dps[j] = dp;
    pdp += att[arow + j] * dp;
  }
  pdp = reduce_sum(lid, pdp);
  for (var j = lid; j < T; j += 64u) {
    var g = 0.0;
    if (j <= i) {
      g = att[arow + j] * (dps[j] - pdp) * ${f32Literal(1 / Math.sqrt(hd))};
      dps[j] = g;
    }
    ds[arow + j] = g;
  }
  workgroupBarrier();
  for (var c = lid; c < ${hd}u; c += 64u) {
    var acc = 0.0;
    for (var j = 0u; j <= i; j++) { acc += dps[j] * k[(kv0 + j) * ${d}u + col + c]; }
    dq[m * ${d}u + col + c] = acc;
  }
}`,
  );
}

/**
 * Second half of attention's backward, one thread per (row m = key j of sequence b, column), a
 * grid1d of n · d:
 *   dk_j = Σ_{i ≥ j} ds_ij q_i,  dv_j = Σ_{i ≥ j} p_ij dout_i.
 */
export function attentionBackwardKVKernel(s: Omit<AttentionShape, 'maxKeys'>): KernelSpec {
  const { nHeads: H, headDim: hd } = s;
  const d = H * hd;
  return kernelSpec(
    `attention backward kv H${H} hd${hd}`,
    [STEP, read('dout'), read('q'), read('att'), read('ds'), readWrite('dk'), readWrite('dv')],
    main1d(`step.n * ${d}u`, /* wgsl */ `
  let m = i / ${d}u;
  let colAll = i % ${d}u;
  let h = colAll / ${hd}u;
  let T = step.seqLen;
  let j = m % T;
  let b = m / T;
  let plane = (b * ${H}u + h) * T * T;
  var gk = 0.0;
  var gv = 0.0;
  for (var qi = j; qi < T; qi++) {
    let a = plane + qi * T + j;
    let r = (b * T + qi) * ${d}u + colAll;
    gk += ds[a] * q[r];
    gv += att[a] * dout[r];
  }
  dk[i] = gk;
  dv[i] = gv;`),
  );
}

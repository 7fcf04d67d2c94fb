import { type KernelSpec, kernelSpec, main1d, read, readWrite } from '../kernel.ts';
import { REDUCE_WGSL, STEP, type Storage, f32Literal } from '../wgsl.ts';

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

/** Workgroup memory in bytes of promptAttentionKernel with `rows` query rows per workgroup. */
export const promptAttentionBytes = (s: AttentionShape, rows: number): number => 4 * (rows * (s.maxKeys + s.headDim) + 64);

/** Query rows per workgroup of the prompt pass's attention: 4, or fewer where the adapter's workgroup memory (`limit` bytes) holds fewer. */
export const promptAttentionRows = (s: AttentionShape, limit: number): number => [4, 2, 1].find((r) => promptAttentionBytes(s, r) <= limit) ?? 1;

/**
 * Causal attention of a prompt (one sequence, rows m at positions start + m, keys in the KV cache
 * from row 0), `rows` consecutive query rows of one head per 64-thread workgroup, dispatched
 * [ceil(n / rows), H]: each key is loaded once for the block's rows, and every thread has work in
 * the weighted sum (a (row, column) pair each). Per row the same arithmetic in the same order as
 * attentionKernel: scores, max and sum reduced over the same per-thread partials, Σ_j e_j v_j / sum.
 */
export function promptAttentionKernel(s: AttentionShape, kv: Storage, rows: number): KernelSpec {
  const { nHeads: H, headDim: hd, maxKeys } = s;
  const d = H * hd;
  const R = rows;
  return kernelSpec(
    `prompt attention H${H} hd${hd} keys${maxKeys} kv ${kv} rows${R}`,
    [STEP, read('q'), read('k', `array<${kv}>`), read('v', `array<${kv}>`), readWrite('out')],
    /* wgsl */ `
${REDUCE_WGSL}
var<workgroup> scores: array<f32, ${R * maxKeys}>;
var<workgroup> qs: array<f32, ${R * hd}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.x * ${R}u;
  let h = wid.y;
  if (m0 >= step.n) { return; }
  let rows = min(${R}u, step.n - m0);
  let col = h * ${hd}u;
  for (var p = lid; p < ${R * hd}u; p += 64u) {
    let r = min(p / ${hd}u, rows - 1u);
    qs[p] = q[(m0 + r) * ${d}u + col + p % ${hd}u];
  }
  workgroupBarrier();
  let first = step.start + m0 + 1u;
  let last = first + rows - 1u;
  var mx: array<f32, ${R}>;
  for (var r = 0u; r < ${R}u; r++) { mx[r] = -3.0e38; }
  for (var j = lid; j < last; j += 64u) {
    var sc: array<f32, ${R}>;
    for (var c = 0u; c < ${hd}u; c++) {
      let kc = f32(k[j * ${d}u + col + c]);
      for (var r = 0u; r < ${R}u; r++) { sc[r] += qs[r * ${hd}u + c] * kc; }
    }
    for (var r = 0u; r < rows; r++) {
      if (j < first + r) {
        let scaled = sc[r] * ${f32Literal(1 / Math.sqrt(hd))};
        scores[r * ${maxKeys}u + j] = scaled;
        mx[r] = max(mx[r], scaled);
      }
    }
  }
  var sum: array<f32, ${R}>;
  for (var r = 0u; r < ${R}u; r++) {
    mx[r] = reduce_max(lid, mx[r]);
    let keys = first + r;
    var own = 0.0;
    for (var j = lid; j < keys; j += 64u) {
      if (r < rows) {
        let e = exp(scores[r * ${maxKeys}u + j] - mx[r]);
        scores[r * ${maxKeys}u + j] = e;
        own += e;
      }
    }
    sum[r] = reduce_sum(lid, own);
  }
  for (var p = lid; p < rows * ${hd}u; p += 64u) {
    let r = p / ${hd}u;
    let c = p % ${hd}u;
    var acc = 0.0;
    for (var j = 0u; j < first + r; j++) { acc += scores[r * ${maxKeys}u + j] * f32(v[j * ${d}u + col + c]); }
    out[(m0 + r) * ${d}u + col + c] = acc / sum[r];
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

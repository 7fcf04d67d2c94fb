/**
 * WGSL kernels of an int8 matrix product y [M, N] = x [M, K] · Wᵀ, W [N, K] int8 (four weights per
 * u32), for `pnpm bench:matmul` and `pnpm bench:ceiling`: register blocks (each thread rows ×
 * columns of y in registers, loading x and W straight from storage) and workgroup-memory tiles (x
 * and W tiles staged in var<workgroup>, K in chunks between barriers), the int8 widened by
 * `extractBits` or by two constant shifts. Bindings: x (vec4<f32>), w (u32), y (f32).
 */
import type { Kernel } from './kernel-timing.ts';

export interface Shape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

export type Unpack = 'extractBits' | 'shift';

const lines = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join('\n');

const UNPACK: Record<Unpack, string> = {
  extractBits: 'let s = bitcast<i32>(w); return vec4<f32>(f32(extractBits(s, 0u, 8u)), f32(extractBits(s, 8u, 8u)), f32(extractBits(s, 16u, 8u)), f32(extractBits(s, 24u, 8u)));',
  shift: 'return vec4<f32>((vec4<i32>(bitcast<i32>(w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));',
};

const header = (unpack: Unpack): string => `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn unpack_i8(w: u32) -> vec4<f32> { ${UNPACK[unpack]} }`;

/** Each thread: tm rows × tn columns of y (tn a multiple of 4), `threads` threads per workgroup. */
export function registerBlock({ M, N, K }: Shape, tm: number, tn: number, unpack: Unpack, threads = 64): Kernel {
  const acc = (r: number, c: number) => `acc${r}_${c}`;
  return {
    name: `register block ${tm} × ${tn}, ${unpack}${threads === 64 ? '' : `, ${threads} threads`}`,
    grid: [Math.ceil(N / tn / threads), Math.ceil(M / tm), 1],
    code: `${header(unpack)}
@compute @workgroup_size(${threads}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o0 = gid.x * ${tn}u;
  let m0 = gid.y * ${tm}u;
  if (o0 >= ${N}u || m0 >= ${M}u) { return; }
  ${lines(tm, (r) => `let row${r} = min(m0 + ${r}u, ${M - 1}u); ${lines(tn / 4, (c) => `var ${acc(r, c)} = vec4<f32>(0.0);`)}`)}
  for (var k = 0u; k < ${K}u; k += 4u) {
    ${lines(tn, (j) => `let w${j} = unpack_i8(w[((o0 + ${j}u) * ${K}u + k) >> 2u]);`)}
    ${lines(tm, (r) => `{ let xv = x[(row${r} * ${K}u + k) >> 2u]; ${lines(tn / 4, (c) => `${acc(r, c)} += vec4<f32>(${[0, 1, 2, 3].map((j) => `dot(xv, w${4 * c + j})`).join(', ')});`)} }`)}
  }
  ${lines(tm, (r) => `if (m0 + ${r}u < ${M}u) { ${lines(tn, (j) => `y[(m0 + ${r}u) * ${N}u + o0 + ${j}u] = ${acc(r, j >> 2)}[${j & 3}];`)} }`)}
}`,
  };
}

/** A bm × bn tile of y per workgroup, K in chunks of bk staged in workgroup memory (vec4s along K); each thread tm × tn of it. */
export function workgroupTile({ M, N, K }: Shape, bm: number, bn: number, bk: number, tm: number, tn: number, unpack: Unpack): Kernel {
  const threads = (bm / tm) * (bn / tn);
  const across = bn / tn;
  const kq = bk / 4;
  return {
    name: `workgroup tile ${bm} × ${bn}, K chunks of ${bk}, ${tm} × ${tn} per thread, ${unpack}`,
    grid: [N / bn, Math.ceil(M / bm), 1],
    code: `${header(unpack)}
var<workgroup> xs: array<vec4<f32>, ${bm * kq}>;
var<workgroup> ws: array<vec4<f32>, ${bn * kq}>;
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * ${bn}u;
  let m0 = wid.y * ${bm}u;
  let tr = lid / ${across}u;
  let tc = lid % ${across}u;
  ${lines(tm, (r) => lines(tn / 4, (c) => `var acc${r}_${c} = vec4<f32>(0.0);`))}
  for (var k0 = 0u; k0 < ${K / 4}u; k0 += ${kq}u) {
    for (var i = lid; i < ${bm * kq}u; i += ${threads}u) { xs[i] = x[min(m0 + i / ${kq}u, ${M - 1}u) * ${K / 4}u + k0 + i % ${kq}u]; }
    for (var i = lid; i < ${bn * kq}u; i += ${threads}u) { ws[i] = unpack_i8(w[(n0 + i / ${kq}u) * ${K / 4}u + k0 + i % ${kq}u]); }
    workgroupBarrier();
    for (var q = 0u; q < ${kq}u; q++) {
      ${lines(tn, (j) => `let w${j} = ws[(tc + ${j * across}u) * ${kq}u + q];`)}
      ${lines(tm, (r) => `{ let xv = xs[(tr * ${tm}u + ${r}u) * ${kq}u + q]; ${lines(tn / 4, (c) => `acc${r}_${c} += vec4<f32>(${[0, 1, 2, 3].map((j) => `dot(xv, w${4 * c + j})`).join(', ')});`)} }`)}
    }
    workgroupBarrier();
  }
  ${lines(tm, (r) => `{ let m = m0 + tr * ${tm}u + ${r}u; if (m < ${M}u) { ${lines(tn, (j) => `y[m * ${N}u + n0 + tc + ${j * across}u] = acc${r}_${j >> 2}[${j & 3}];`)} } }`)}
}`,
  };
}

/** The CPU product that every kernel's output is checked against. */
export function cpuProduct({ M, N, K }: Shape, x: readonly number[], w: readonly number[]): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[m * K + k]! * ((w[(n * K + k) >> 2]! << (24 - 8 * (k & 3))) >> 24);
      y[m * N + n] = sum;
    }
  }
  return y;
}

/** The largest absolute difference between an output and the CPU product; throws above 1e-3. */
export function checkAgainst(expected: Float32Array, y: readonly number[], what: string): void {
  let error = 0;
  for (const [j, e] of expected.entries()) error = Math.max(error, Math.abs(y[j]! - e));
  if (!(error < 1e-3)) throw new Error(`${what}: max error ${error} against the CPU product`);
}

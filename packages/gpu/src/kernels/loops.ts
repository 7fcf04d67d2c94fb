import { WORKGROUP } from '../kernel.ts';
import { unroll } from '../wgsl.ts';

/**
 * Inner loops of the register-blocked matrix kernels. Each thread owns TM rows × 4 columns of the
 * output and keeps them in TM vec4 accumulators per weight; every operand element loaded is used
 * TM or 4 times. Row r of a thread's block is `row${r}` (clamped in range by the prologue).
 */

/**
 * y[row, o] = Σ_k x[row, k] · W[o, k] for the columns o0 … o0+3 (`oc`, clamped): one accumulator
 * `acc_${id}_${r}` per weight and row r; a weight is read with loader `${load}_4` from element
 * `base` on. `xLoad(r)` loads x[row r, k .. k+3].
 */
export function ntLoop(
  tm: number,
  inFeatures: number,
  weights: readonly { readonly id: string; readonly load: string; readonly base: string }[],
  xLoad: (r: number) => string,
): string {
  return `${unroll(tm, (r) => weights.map((w) => `var acc_${w.id}_${r} = vec4<f32>(0.0);`).join(' '))}
  for (var k = 0u; k < ${inFeatures}u; k += 4u) {
    ${weights.map((w) => unroll(4, (j) => `let ${w.id}${j} = ${w.load}_4(${w.base}, oc[${j}], k);`)).join('\n    ')}
    ${unroll(tm, (r) => `{
      let xv = ${xLoad(r)};
      ${weights.map((w) => `acc_${w.id}_${r} += vec4<f32>(dot(xv, ${w.id}0), dot(xv, ${w.id}1), dot(xv, ${w.id}2), dot(xv, ${w.id}3));`).join('\n      ')}
    }`)}
  }`;
}

/** The rows of a thread's block: `row${r}` = m0 + r clamped to the last row (loads stay in range). */
export const blockRows = (tm: number): string => unroll(tm, (r) => `let row${r} = min(m0 + ${r}u, rows - 1u);`);

/**
 * Stores a thread's block of tm rows × 4 columns from column `c0` on: `store(r, j)` runs for each
 * row m0 + r < rows and column c0 + j < cols.
 */
export function storeBlock(tm: number, c0: string, cols: number, store: (r: number, j: number) => string): string {
  return unroll(
    tm,
    (r) => `if (m0 + ${r}u < rows) {
    ${unroll(4, (j) => `if (${c0} + ${j}u < ${cols}u) { ${store(r, j)} }`)}
  }`,
  );
}

/** Workgroups of a blocked kernel of `threads` threads each: 4 columns per thread across x, `y` row blocks (or tiles). */
export const blockGrid = (cols: number, y: number, threads = WORKGROUP): readonly [number, number, number] => [Math.ceil(Math.ceil(cols / 4) / threads), y, 1];

/** The output columns of a thread: o0 … o0+3 clamped to the last column (loads stay in range). */
export function columns(out: number): string {
  return `let oc = vec4<u32>(o0, min(o0 + 1u, ${out - 1}u), min(o0 + 2u, ${out - 1}u), min(o0 + 3u, ${out - 1}u));`;
}

/**
 * y[row, k0 .. k0+3] = Σ_pairs Σ_o g_p[row, o] · W_p[o, k0 .. k0+3] · scale_p[o]: accumulator
 * `acc_${r}`. `gLoad(p, r)` is the expression g_p[row r, o].
 */
export function nnLoop(
  tm: number,
  rowsOfW: number,
  pairs: readonly { readonly w: string; readonly base: string; readonly sbase: string }[],
  gLoad: (p: number, r: number) => string,
): string {
  return `${unroll(tm, (r) => `var acc_${r} = vec4<f32>(0.0);`)}
  for (var o = 0u; o < ${rowsOfW}u; o++) {
    ${pairs.map((p, i) => `let wv${i} = ${p.w}_4(${p.base}, o, k0) * ${p.w}_s(${p.sbase}, o);`).join('\n    ')}
    ${unroll(tm, (r) => `acc_${r} += ${pairs.map((_, i) => `${gLoad(i, r)} * wv${i}`).join(' + ')};`)}
  }`;
}

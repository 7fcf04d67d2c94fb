import { type KernelSpec, kernelSpec, read, readWrite } from '../kernel.ts';
import { REDUCE_WGSL, STEP, f32Literal } from '../wgsl.ts';

/**
 * RMSNorm per row of the step's n rows, one 64-thread workgroup per row (dispatch n):
 * r = 1 / sqrt(mean x² + eps), out = x · r · w. With `keepRstd`, r goes to rstd[row] for backward.
 */
export function rmsnormKernel(d: number, eps: number, keepRstd: boolean): KernelSpec {
  return kernelSpec(
    `rmsnorm d${d}${keepRstd ? ' rstd' : ''}`,
    [STEP, read('x'), read('weight'), readWrite('out'), keepRstd && readWrite('rstd')],
    /* wgsl */ `
${REDUCE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (wid.x >= step.n) { return; }
  let row = wid.x;
  var ss = 0.0;
  for (var c = lid; c < ${d}u; c += 64u) {
    let v = x[row * ${d}u + c];
    ss += v * v;
  }
  let r = 1.0 / sqrt(reduce_sum(lid, ss) / ${d}.0 + ${f32Literal(eps)});
  for (var c = lid; c < ${d}u; c += 64u) {
    out[row * ${d}u + c] = x[row * ${d}u + c] * r * weight[c];
  }
  ${keepRstd ? 'if (lid == 0u) { rstd[row] = r; }' : ''}
}`,
  );
}

/** Rows (threads) per workgroup of rmsnormRowsKernel: a CPU adapter's SIMD width, so a few rows still spread over the cores. */
export const RMSNORM_ROWS = 8;

/**
 * RMSNorm as rmsnormKernel computes it (without rstd), one thread per row instead of a workgroup
 * per row, RMSNORM_ROWS rows per workgroup (dispatch rmsnormRowsGrid(n)): no barriers, which a
 * CPU-backed adapter runs far faster than a 64-thread reduction per row (inference passes).
 */
export function rmsnormRowsKernel(d: number, eps: number): KernelSpec {
  return kernelSpec(
    `rmsnorm rows d${d}`,
    [STEP, read('x'), read('weight'), readWrite('out')],
    /* wgsl */ `
@compute @workgroup_size(${RMSNORM_ROWS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= step.n) { return; }
  let o = i * ${d}u;
  var ss = 0.0;
  for (var c = 0u; c < ${d}u; c++) {
    let v = x[o + c];
    ss += v * v;
  }
  let r = 1.0 / sqrt(ss / ${d}.0 + ${f32Literal(eps)});
  for (var c = 0u; c < ${d}u; c++) { out[o + c] = x[o + c] * r * weight[c]; }
}`,
  );
}

export const rmsnormRowsGrid = (rows: number): readonly [number, number, number] => [Math.ceil(rows / RMSNORM_ROWS), 1, 1];

/**
 * Backward of rmsnormKernel per row, with g = dout ⊙ w and r = rstd[row]:
 *   dx = r · g − x · r³ / d · Σ g ⊙ x,
 * written to dx, or with `residual` added to the gradient already flowing through the residual
 * stream: dx = base + …. The norm's own weight is frozen (no weight gradient).
 */
export function rmsnormBackwardKernel(d: number, residual: boolean): KernelSpec {
  return kernelSpec(
    `rmsnorm backward d${d}${residual ? ' residual' : ''}`,
    [read('dout'), read('x'), read('weight'), read('rstd'), readWrite('dx'), residual && read('base')],
    /* wgsl */ `
${REDUCE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = wid.x * ${d}u;
  let r = rstd[wid.x];
  var gx = 0.0;
  for (var c = lid; c < ${d}u; c += 64u) {
    gx += dout[o + c] * weight[c] * x[o + c];
  }
  let k = reduce_sum(lid, gx) * r * r * r / ${d}.0;
  for (var c = lid; c < ${d}u; c += 64u) {
    dx[o + c] = ${residual ? 'base[o + c] + ' : ''}r * dout[o + c] * weight[c] - x[o + c] * k;
  }
}`,
  );
}

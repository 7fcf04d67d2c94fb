import { type KernelSpec, LINEAR_ID_WGSL, grid1d } from '../kernel.ts';
import type { ExpertLayout } from '../layout.ts';
import { LAYER_WGSL } from '../wgsl.ts';

/**
 * The f32 copy of one pooled int8 expert (layer.onlyExpert) that training starts from: w = q ·
 * scale per row, written to `param` and to `init` (kept to export the trained delta), in the
 * same ExpertLayout; the padding between sections is zero.
 */
export function dequantKernel(x: ExpertLayout): KernelSpec {
  const section = x.w3;
  const count = x.d * x.dFF;
  return {
    label: `dequant d${x.d} F${x.dFF}`,
    bindings: ['layer', 'table', 'pool', 'scales', 'param', 'init'],
    code: /* wgsl */ `
${LAYER_WGSL}
@group(0) @binding(0) var<uniform> layer: LayerInfo;
@group(0) @binding(1) var<storage, read> table: array<i32>;
@group(0) @binding(2) var<storage, read> pool: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> init: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${LINEAR_ID_WGSL};
  if (i >= ${x.elements}u) { return; }
  let slot = u32(max(table[layer.onlyExpert], 0));
  let sec = i / ${section}u;
  let j = i % ${section}u;
  var w = 0.0;
  if (j < ${count}u) {
    let row = j / select(${x.d}u, ${x.dFF}u, sec == 2u);
    let s = scales[slot * ${x.scales}u + sec * ${x.dFF}u + row];
    let byte = slot * ${x.elements}u + i;
    w = f32(extractBits(bitcast<i32>(pool[byte >> 2u]), (byte & 3u) * 8u, 8u)) * s;
  }
  param[i] = w;
  init[i] = w;
}`,
  };
}

export const dequantGrid = (x: ExpertLayout) => grid1d(x.elements);

import { type KernelSpec, kernelSpec, main1d, read, readWrite } from '../kernel.ts';
import type { ExpertLayout } from '../layout.ts';
import { LAYER } from '../wgsl.ts';

/**
 * The f32 copy of one pooled int8 expert (layer.onlyExpert) that training starts from: w = q ·
 * scale per row, written to `param` and to `init` (kept to export the trained delta), in the
 * same ExpertLayout; the padding between sections is zero. One thread per element (grid1d).
 */
export function dequantKernel(x: ExpertLayout): KernelSpec {
  const section = x.w3;
  const count = x.d * x.dFF;
  return kernelSpec(
    `dequant d${x.d} F${x.dFF}`,
    [LAYER, read('table', 'array<i32>'), read('pool', 'array<u32>'), read('scales'), readWrite('param'), readWrite('init')],
    main1d(`${x.elements}u`, /* wgsl */ `
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
  init[i] = w;`),
  );
}

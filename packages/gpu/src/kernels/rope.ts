import { type KernelSpec, grid1d, kernelSpec, main1d, read, readWrite } from '../kernel.ts';
import { STEP, type Storage } from '../wgsl.ts';

/**
 * Rotary positions on q and k in place, interleaved pairs (x[2i], x[2i+1]) as in the reference.
 * Row m of q and row start + m of k (the KV cache rows being written) are at position
 * start + m mod seqLen. `table` holds (cos, sin) per [position, pair], computed on the CPU in
 * float64 (GPU sin/cos are only accurate near 0). sign −1 rotates backwards: the gradient.
 * `kStorage` f16: k is an f16 KV cache, rotated in f32 and rounded back. `cacheRows` > 0: row m is
 * one token of sequence m at position positions[m], its key at row m · cacheRows + positions[m]
 * (batched decoding: one KV cache of cacheRows rows per sequence).
 */
export function ropeKernel(nHeads: number, headDim: number, sign: 1 | -1, kStorage: Storage = 'f32', cacheRows = 0): KernelSpec {
  const d = nHeads * headDim;
  const half = headDim / 2;
  const s = sign === 1 ? '' : '-';
  return kernelSpec(
    `rope H${nHeads} hd${headDim}${sign === 1 ? '' : ' backward'} k ${kStorage}${cacheRows ? ` sequences of ${cacheRows}` : ''}`,
    [STEP, read('table', 'array<vec2<f32>>'), readWrite('q'), readWrite('k', `array<${kStorage}>`), cacheRows > 0 && read('positions', 'array<u32>')],
    /* wgsl */ `
fn rotate(i: u32, cs: vec2<f32>, qk: u32) {
  if (qk == 0u) {
    let a = q[i];
    let b = q[i + 1u];
    q[i] = a * cs.x - b * cs.y;
    q[i + 1u] = a * cs.y + b * cs.x;
  } else {
    let a = f32(k[i]);
    let b = f32(k[i + 1u]);
    k[i] = ${kStorage}(a * cs.x - b * cs.y);
    k[i + 1u] = ${kStorage}(a * cs.y + b * cs.x);
  }
}
${main1d(`step.n * ${d / 2}u`, `
  let m = i / ${d / 2}u;
  let pair = i % ${d / 2}u;
  let col = (pair / ${half}u) * ${headDim}u + 2u * (pair % ${half}u);
  let pos = ${cacheRows ? 'positions[m]' : 'step.start + m % step.seqLen'};
  let t = table[pos * ${half}u + pair % ${half}u];
  let cs = vec2<f32>(t.x, ${s}t.y);
  rotate(m * ${d}u + col, cs, 0u);
  rotate((${cacheRows ? `m * ${cacheRows}u + pos` : 'step.start + m'}) * ${d}u + col, cs, 1u);`)}`,
  );
}

export const ropeGrid = (n: number, d: number) => grid1d((n * d) / 2);

/** The (cos, sin) table for ropeKernel from the reference's float64 table. */
export function ropeTableData(table: { readonly cos: Float64Array; readonly sin: Float64Array }): Float32Array {
  const out = new Float32Array(table.cos.length * 2);
  for (let i = 0; i < table.cos.length; i++) {
    out[2 * i] = table.cos[i]!;
    out[2 * i + 1] = table.sin[i]!;
  }
  return out;
}

import { type KernelSpec, LINEAR_ID_WGSL, grid1d } from '../kernel.ts';
import { STEP_WGSL, type Storage, f16Directive } from '../wgsl.ts';

/** out[t] = embed[tokens[t]] for the step's n tokens: a row gather from the [V, d] table (f32 or f16), into f32. */
export function embeddingKernel(vocab: number, d: number, table: Storage = 'f32'): KernelSpec {
  return {
    label: `embedding V${vocab} d${d} ${table}`,
    bindings: ['step', 'tokens', 'embed', 'out'],
    code: /* wgsl */ `${f16Directive(table)}
${STEP_WGSL}
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> embed: array<${table}>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${LINEAR_ID_WGSL};
  if (i >= step.n * ${d}u) { return; }
  let t = i / ${d}u;
  out[i] = f32(embed[min(tokens[t], ${vocab - 1}u) * ${d}u + i % ${d}u]);
}`,
  };
}

export const embeddingGrid = (n: number, d: number) => grid1d(n * d);

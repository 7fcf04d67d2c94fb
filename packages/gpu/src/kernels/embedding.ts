import { type KernelSpec, kernelSpec, main1d, read, readWrite } from '../kernel.ts';
import { STEP, type Storage } from '../wgsl.ts';

/**
 * out[t] = embed[tokens[t]] for the step's n tokens: a row gather from the [V, d] table (f32 or
 * f16), into f32, one thread per element (grid1d of n · d).
 */
export function embeddingKernel(vocab: number, d: number, table: Storage = 'f32'): KernelSpec {
  return kernelSpec(
    `embedding V${vocab} d${d} ${table}`,
    [STEP, read('tokens', 'array<u32>'), read('embed', `array<${table}>`), readWrite('out')],
    main1d(`step.n * ${d}u`, /* wgsl */ `
  let t = i / ${d}u;
  out[i] = f32(embed[min(tokens[t], ${vocab - 1}u) * ${d}u + i % ${d}u]);`),
  );
}

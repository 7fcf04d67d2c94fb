import { type Binding, read } from './kernel.ts';
import { UNPACK_I8_WGSL } from './wgsl.ts';

/**
 * WGSL declarations and loaders for the operands of the matrix kernels. Every loader returns four
 * consecutive elements of one row as a vec4<f32>: with a row length divisible by 4 that is one
 * aligned vector load (one u32 for int8 weights, dequantized in registers; one vec4<f16> for f16
 * weights, widened in registers); otherwise four bounds-checked scalar loads, zero past the row's
 * end, so odd sizes need no padding. Arithmetic stays f32 whatever the storage.
 */
export type WeightType = 'f32' | 'f16' | 'i8';

export interface Operand {
  readonly bindings: readonly Binding[];
  readonly fns: string;
}

/** An activation matrix with `cols` columns: NAME_4(row, k) = row[k .. k+3]. */
export function matrixInput(name: string, cols: number): Operand {
  if (cols % 4 === 0) {
    return {
      bindings: [read(name, 'array<vec4<f32>>')],
      fns: `fn ${name}_4(row: u32, k: u32) -> vec4<f32> { return ${name}[(row * ${cols}u + k) >> 2u]; }`,
    };
  }
  return {
    bindings: [read(name)],
    fns: scalarRow4(`${name}_4(row: u32, k: u32)`, `row * ${cols}u + k`, cols, (i) => `${name}[${i}]`),
  };
}

/**
 * A weight matrix with `cols` columns (the input dimension of a [out, in] weight), in f32, f16
 * or int8 with one f32 scale per row (binding NAME_scales after NAME): NAME_4(base, o, k) = row o
 * [k .. k+3] starting `base` elements into the buffer (a multiple of 4), NAME_s(sbase, o) = row
 * o's scale (1 for f32). Int8 weights are packed 4 per u32, little-endian, exactly as an
 * Int8Array's bytes.
 */
export function weightInput(name: string, type: WeightType, cols: number): Operand {
  const aligned = cols % 4 === 0;
  if (type !== 'i8') {
    const bindings = [read(name, `array<${aligned ? `vec4<${type}>` : type}>`)];
    const row4 = aligned
      ? `fn ${name}_4(base: u32, o: u32, k: u32) -> vec4<f32> { return vec4<f32>(${name}[(base + o * ${cols}u + k) >> 2u]); }`
      : scalarRow4(`${name}_4(base: u32, o: u32, k: u32)`, `base + o * ${cols}u + k`, cols, (i) => `f32(${name}[${i}])`);
    return { bindings, fns: `${row4}\nfn ${name}_s(sbase: u32, o: u32) -> f32 { return 1.0; }` };
  }
  const bindings = [read(name, 'array<u32>'), read(`${name}_scales`)];
  const row4 = aligned
    ? `fn ${name}_4(base: u32, o: u32, k: u32) -> vec4<f32> { return unpack_i8(${name}[(base + o * ${cols}u + k) >> 2u]); }`
    : [
        `fn ${name}_b(i: u32) -> f32 { return f32(extractBits(bitcast<i32>(${name}[i >> 2u]), (i & 3u) * 8u, 8u)); }`,
        scalarRow4(`${name}_4(base: u32, o: u32, k: u32)`, `base + o * ${cols}u + k`, cols, (i) => `${name}_b(${i})`),
      ].join('\n');
  return { bindings, fns: `${UNPACK_I8_WGSL}\n${row4}\nfn ${name}_s(sbase: u32, o: u32) -> f32 { return ${name}_scales[sbase + o]; }` };
}

/** Four bounds-checked scalar loads from flat index `first` on, for element k of a row of `cols`. */
function scalarRow4(signature: string, first: string, cols: number, at: (index: string) => string): string {
  return `fn ${signature} -> vec4<f32> {
  let b = ${first};
  var v = vec4<f32>(${at('b')}, 0.0, 0.0, 0.0);
  if (k + 1u < ${cols}u) { v.y = ${at('b + 1u')}; }
  if (k + 2u < ${cols}u) { v.z = ${at('b + 2u')}; }
  if (k + 3u < ${cols}u) { v.w = ${at('b + 3u')}; }
  return v;
}`;
}

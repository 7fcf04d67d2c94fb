import type { Tensor } from './tensors.ts';

/**
 * Symmetric int8 quantization with one f32 scale per output channel (row of a [out, in] weight):
 * scale = max|w_row| / 127, q = round(w / scale). An all-zero row has scale 0.
 */
export function quantizeInt8(data: Float32Array, shape: number[]): Tensor & { dtype: 'i8' } {
  const rows = shape[0] ?? 1;
  const cols = rows === 0 ? 0 : data.length / rows;
  if (!Number.isInteger(cols)) throw new Error(`${data.length} elements do not split into ${rows} rows`);
  const q = new Int8Array(data.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = r * cols; c < (r + 1) * cols; c++) max = Math.max(max, Math.abs(data[c]!));
    if (!Number.isFinite(max)) throw new Error(`row ${r} holds a non-finite value`);
    const scale = Math.fround(max / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = r * cols; c < (r + 1) * cols; c++) q[c] = Math.max(-127, Math.min(127, Math.round(data[c]! / scale)));
  }
  return { dtype: 'i8', shape, data: q, scales };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 → IEEE binary16 bits, round to nearest even; overflow gives ±Inf, NaN stays NaN. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rounded = (mant + half - 1 + ((mant >>> shift) & 1)) >>> shift;
    return sign | rounded;
  }
  const rounded = (mant + 0xfff + ((mant >>> 13) & 1)) >>> 13;
  return (sign | (e << 10)) + rounded;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Any tensor as f32 values (a new array; i8 is multiplied out by its row scales). */
export function toF32(t: Tensor): Float32Array {
  if (t.dtype === 'f32') return t.data;
  const out = new Float32Array(t.data.length);
  if (t.dtype === 'f16') {
    for (let i = 0; i < out.length; i++) out[i] = f16BitsToF32(t.data[i]!);
    return out;
  }
  const rows = t.shape[0] ?? 1;
  const cols = rows === 0 ? 0 : out.length / rows;
  for (let r = 0; r < rows; r++) {
    const s = t.scales[r]!;
    for (let c = r * cols; c < (r + 1) * cols; c++) out[c] = t.data[c]! * s;
  }
  return out;
}

export function toF16(data: Float32Array, shape: number[]): Tensor & { dtype: 'f16' } {
  const bits = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) bits[i] = f32ToF16Bits(data[i]!);
  return { dtype: 'f16', shape, data: bits };
}

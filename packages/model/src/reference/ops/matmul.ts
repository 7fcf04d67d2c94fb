import type { FloatArray } from '../arrays.ts';

/**
 * Linear layer without bias: out[n, Out] = inp[n, In] · w[Out, In]ᵀ. Weights are stored [out, in]
 * so that each output channel is one contiguous row (per-row int8 scales later), and every inner
 * loop runs over contiguous rows. The loops handle four rows at once so that each element loaded is
 * used four times (about twice as fast in V8); each output is still the plain sequential dot
 * product Σ_c inp[i, c] · w[o, c], so a row's result never depends on the other rows.
 */
export function matmulForward(out: FloatArray, inp: FloatArray, w: FloatArray, n: number, In: number, Out: number): void {
  for (let i = 0; i < n; i++) {
    const x = i * In;
    const y = i * Out;
    let o = 0;
    for (; o + 4 <= Out; o += 4) {
      const r0 = o * In;
      const r1 = r0 + In;
      const r2 = r1 + In;
      const r3 = r2 + In;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < In; c++) {
        const v = inp[x + c]!;
        s0 += v * w[r0 + c]!;
        s1 += v * w[r1 + c]!;
        s2 += v * w[r2 + c]!;
        s3 += v * w[r3 + c]!;
      }
      out[y + o] = s0;
      out[y + o + 1] = s1;
      out[y + o + 2] = s2;
      out[y + o + 3] = s3;
    }
    for (; o < Out; o++) {
      const r = o * In;
      let s = 0;
      for (let c = 0; c < In; c++) s += inp[x + c]! * w[r + c]!;
      out[y + o] = s;
    }
  }
}

/** Accumulates dinp += dout · w and dw += doutᵀ · inp. */
export function matmulBackward(
  dinp: FloatArray,
  dw: FloatArray,
  dout: FloatArray,
  inp: FloatArray,
  w: FloatArray,
  n: number,
  In: number,
  Out: number,
): void {
  for (let i = 0; i < n; i++) {
    const x = i * In;
    const y = i * Out;
    let o = 0;
    for (; o + 4 <= Out; o += 4) {
      const g0 = dout[y + o]!;
      const g1 = dout[y + o + 1]!;
      const g2 = dout[y + o + 2]!;
      const g3 = dout[y + o + 3]!;
      const r0 = o * In;
      const r1 = r0 + In;
      const r2 = r1 + In;
      const r3 = r2 + In;
      for (let c = 0; c < In; c++) dinp[x + c]! += g0 * w[r0 + c]! + g1 * w[r1 + c]! + g2 * w[r2 + c]! + g3 * w[r3 + c]!;
    }
    for (; o < Out; o++) {
      const g = dout[y + o]!;
      const r = o * In;
      for (let c = 0; c < In; c++) dinp[x + c]! += g * w[r + c]!;
    }
  }
  for (let o = 0; o < Out; o++) {
    const r = o * In;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const g0 = dout[i * Out + o]!;
      const g1 = dout[(i + 1) * Out + o]!;
      const g2 = dout[(i + 2) * Out + o]!;
      const g3 = dout[(i + 3) * Out + o]!;
      const x0 = i * In;
      const x1 = x0 + In;
      const x2 = x1 + In;
      const x3 = x2 + In;
      for (let c = 0; c < In; c++) dw[r + c]! += g0 * inp[x0 + c]! + g1 * inp[x1 + c]! + g2 * inp[x2 + c]! + g3 * inp[x3 + c]!;
    }
    for (; i < n; i++) {
      const g = dout[i * Out + o]!;
      const x = i * In;
      for (let c = 0; c < In; c++) dw[r + c]! += g * inp[x + c]!;
    }
  }
}

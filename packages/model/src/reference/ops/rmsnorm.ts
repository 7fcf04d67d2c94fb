import type { FloatArray } from '../arrays.ts';

/**
 * RMSNorm with a learned gain, per row of `inp` [n, C]:
 *   r = 1 / sqrt(mean_c x_c² + eps),  out_c = x_c · r · weight_c.
 * `rstd` [n] keeps r for the backward pass.
 */
export function rmsnormForward(out: FloatArray, rstd: FloatArray, inp: FloatArray, weight: FloatArray, n: number, C: number, eps: number): void {
  for (let i = 0; i < n; i++) {
    const x = i * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[x + c]! * inp[x + c]!;
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[i] = r;
    for (let c = 0; c < C; c++) out[x + c] = inp[x + c]! * r * weight[c]!;
  }
}

/**
 * Accumulates the gradients of rmsnormForward. With g_c = dout_c · weight_c and ∂r/∂x_k = −r³ x_k / C:
 *   dinp_k += r · g_k − x_k · r³ / C · Σ_c g_c x_c,   dweight_c += dout_c · x_c · r.
 */
export function rmsnormBackward(
  dinp: FloatArray,
  dweight: FloatArray,
  dout: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  rstd: FloatArray,
  n: number,
  C: number,
): void {
  for (let i = 0; i < n; i++) {
    const x = i * C;
    const r = rstd[i]!;
    let gx = 0;
    for (let c = 0; c < C; c++) gx += dout[x + c]! * weight[c]! * inp[x + c]!;
    const k = (gx * r * r * r) / C;
    for (let c = 0; c < C; c++) {
      dweight[c]! += dout[x + c]! * inp[x + c]! * r;
      dinp[x + c]! += r * dout[x + c]! * weight[c]! - inp[x + c]! * k;
    }
  }
}

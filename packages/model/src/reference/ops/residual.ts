import type { FloatArray } from '../arrays.ts';

/** out = a + b, elementwise over n elements (the residual stream). */
export function residualForward(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}

/** Accumulates da += dout and db += dout. */
export function residualBackward(da: FloatArray, db: FloatArray, dout: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    da[i]! += dout[i]!;
    db[i]! += dout[i]!;
  }
}

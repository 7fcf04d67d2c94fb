import type { FloatArray } from '../arrays.ts';

/** out[t] = embed[tokens[t]]: row lookup in the [V, d] table (which is also the tied output projection). */
export function embeddingForward(out: FloatArray, tokens: ArrayLike<number>, embed: FloatArray, n: number, d: number): void {
  for (let t = 0; t < n; t++) {
    const row = tokens[t]! * d;
    const o = t * d;
    for (let c = 0; c < d; c++) out[o + c] = embed[row + c]!;
  }
}

/** Accumulates dembed[tokens[t]] += dout[t]; a token that occurs several times collects every row. */
export function embeddingBackward(dembed: FloatArray, dout: FloatArray, tokens: ArrayLike<number>, n: number, d: number): void {
  for (let t = 0; t < n; t++) {
    const row = tokens[t]! * d;
    const o = t * d;
    for (let c = 0; c < d; c++) dembed[row + c]! += dout[o + c]!;
  }
}

import { type FloatArray, zerosLike } from '../arrays.ts';
import { matmulBackward, matmulForward } from './matmul.ts';

/** Weights of one SwiGLU expert: w1 (gate) and w3 (up) are [dFF, d], w2 (down) is [d, dFF]. */
export interface ExpertWeights<A extends FloatArray = FloatArray> {
  readonly w1: A;
  readonly w3: A;
  readonly w2: A;
}

/** What the backward pass needs from swigluForward, each [n, dFF]. */
export interface SwigluActs<A extends FloatArray = FloatArray> {
  readonly h1: A;
  readonly h3: A;
  readonly act: A;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/**
 * One expert on n rows of x [n, d]: out = w2 · (silu(w1 · x) ⊙ (w3 · x)), silu(z) = z · σ(z).
 * Fills h1 = w1·x, h3 = w3·x and act = silu(h1) ⊙ h3.
 */
export function swigluForward(out: FloatArray, acts: SwigluActs, x: FloatArray, w: ExpertWeights, n: number, d: number, dFF: number): void {
  const { h1, h3, act } = acts;
  matmulForward(h1, x, w.w1, n, d, dFF);
  matmulForward(h3, x, w.w3, n, d, dFF);
  for (let i = 0; i < n * dFF; i++) {
    const z = h1[i]!;
    act[i] = z * sigmoid(z) * h3[i]!;
  }
  matmulForward(out, act, w.w2, n, dFF, d);
}

/**
 * Accumulates dx and the weight gradients `dw`. With silu'(z) = σ(z) (1 + z (1 − σ(z))):
 *   dh1 = dact ⊙ h3 ⊙ silu'(h1),  dh3 = dact ⊙ silu(h1).
 */
export function swigluBackward(
  dx: FloatArray,
  dw: ExpertWeights,
  dout: FloatArray,
  x: FloatArray,
  acts: SwigluActs,
  w: ExpertWeights,
  n: number,
  d: number,
  dFF: number,
): void {
  const { h1, h3, act } = acts;
  const dact = zerosLike(x, n * dFF);
  matmulBackward(dact, dw.w2, dout, act, w.w2, n, dFF, d);
  const dh1 = zerosLike(x, n * dFF);
  const dh3 = zerosLike(x, n * dFF);
  for (let i = 0; i < n * dFF; i++) {
    const z = h1[i]!;
    const sg = sigmoid(z);
    dh1[i] = dact[i]! * h3[i]! * sg * (1 + z * (1 - sg));
    dh3[i] = dact[i]! * z * sg;
  }
  matmulBackward(dx, dw.w1, dh1, x, w.w1, n, d, dFF);
  matmulBackward(dx, dw.w3, dh3, x, w.w3, n, d, dFF);
}

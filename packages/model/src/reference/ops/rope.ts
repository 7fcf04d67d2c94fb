import type { FloatArray } from '../arrays.ts';

/**
 * Rotary position embedding, INTERLEAVED-PAIRS convention (as in RoFormer and Meta's original
 * Llama code, not the "rotate-half" layout of GPT-NeoX / Hugging Face Llama): inside each head,
 * the pair (x[2i], x[2i+1]) at position p is rotated by the angle p · θ^(−2i / headDim), i < headDim/2:
 *   x'[2i]   = x[2i] · cos − x[2i+1] · sin
 *   x'[2i+1] = x[2i] · sin + x[2i+1] · cos
 * Other backends must use the same pairing or their q·k scores will differ.
 */
export interface RopeTable {
  /** Number of positions the table covers. */
  readonly positions: number;
  /** headDim / 2 */
  readonly half: number;
  /** cos and sin of each angle, [positions, half]. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
}

export function ropeTable(positions: number, headDim: number, theta: number): RopeTable {
  const half = headDim / 2;
  const cos = new Float64Array(positions * half);
  const sin = new Float64Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * Math.pow(theta, (-2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { positions, half, cos, sin };
}

function checkRange(table: RopeTable, start: number, n: number): void {
  if (start + n > table.positions) throw new Error(`rope: positions up to ${start + n - 1} but the table covers ${table.positions}`);
}

/**
 * Rotates the rows of `inp` [n, nHeads · headDim], row i being at position start + i. `out` may be
 * `inp` itself (each pair is read before it is written).
 */
export function ropeForward(out: FloatArray, inp: FloatArray, n: number, start: number, nHeads: number, headDim: number, table: RopeTable): void {
  checkRange(table, start, n);
  const { half, cos, sin } = table;
  const d = nHeads * headDim;
  for (let i = 0; i < n; i++) {
    const angles = (start + i) * half;
    for (let h = 0; h < nHeads; h++) {
      const base = i * d + h * headDim;
      for (let j = 0; j < half; j++) {
        const a = inp[base + 2 * j]!;
        const b = inp[base + 2 * j + 1]!;
        const c = cos[angles + j]!;
        const s = sin[angles + j]!;
        out[base + 2 * j] = a * c - b * s;
        out[base + 2 * j + 1] = a * s + b * c;
      }
    }
  }
}

/** Accumulates dinp += Rᵀ · dout: the rotation is orthogonal, so its backward rotates by −angle. */
export function ropeBackward(dinp: FloatArray, dout: FloatArray, n: number, start: number, nHeads: number, headDim: number, table: RopeTable): void {
  checkRange(table, start, n);
  const { half, cos, sin } = table;
  const d = nHeads * headDim;
  for (let i = 0; i < n; i++) {
    const angles = (start + i) * half;
    for (let h = 0; h < nHeads; h++) {
      const base = i * d + h * headDim;
      for (let j = 0; j < half; j++) {
        const da = dout[base + 2 * j]!;
        const db = dout[base + 2 * j + 1]!;
        const c = cos[angles + j]!;
        const s = sin[angles + j]!;
        dinp[base + 2 * j]! += da * c + db * s;
        dinp[base + 2 * j + 1]! += db * c - da * s;
      }
    }
  }
}

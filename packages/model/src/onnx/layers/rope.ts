import { type ModelConfig, headDim } from '../../reference/config.ts';
import { ropeTable } from '../../reference/ops/rope.ts';
import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';
import type { Sequence } from './sequence.ts';

/**
 * Rotary positions in the reference's interleaved-pairs convention, as y = x ⊙ C + swap(x) ⊙ S over
 * rows [B, T, d], where swap exchanges the elements of each pair (2i, 2i+1), C = (cos, cos) and
 * S = (−sin, sin) per pair: y[2i] = x[2i]·cos − x[2i+1]·sin, y[2i+1] = x[2i]·sin + x[2i+1]·cos.
 */
export interface Rope {
  /** C and S for positions 0 … T−1, [T, d]. */
  readonly cos: Value;
  readonly sin: Value;
  /** Reshape targets [B, T, d/2, 2] and [B, T, d]. */
  readonly pairs: Value;
  readonly rows: Value;
}

/** C and S for every position up to contextLength, [contextLength, d]: the reference's ropeTable laid out per column (heads share angles). */
function ropeTables(cfg: ModelConfig): { cos: Float32Array; sin: Float32Array } {
  const d = cfg.dModel;
  const table = ropeTable(cfg.contextLength, headDim(cfg), cfg.ropeTheta);
  const cos = new Float32Array(cfg.contextLength * d);
  const sin = new Float32Array(cfg.contextLength * d);
  for (let p = 0; p < cfg.contextLength; p++) {
    for (let col = 0; col < d; col += 2) {
      const i = p * table.half + ((col / 2) % table.half);
      cos[p * d + col] = cos[p * d + col + 1] = table.cos[i]!;
      sin[p * d + col] = -table.sin[i]!;
      sin[p * d + col + 1] = table.sin[i]!;
    }
  }
  return { cos, sin };
}

export function ropeInit(g: Graph, cfg: ModelConfig, seq: Sequence): Rope {
  const { cos, sin } = ropeTables(cfg);
  const dims = [cfg.contextLength, cfg.dModel];
  const firstT = (table: Float32Array): Value => g.slice(g.initializer('float32', table, dims), g.ints([0]), seq.T, [0]);
  const pairs = g.concat([g.ints([-1]), seq.T, g.ints([cfg.dModel / 2, 2])], 0);
  return { cos: firstT(cos), sin: firstT(sin), pairs, rows: seq.rows };
}

/** x [B, T, d] with the elements of each pair (2i, 2i+1) exchanged (faster than a Gather). */
function swapPairs(g: Graph, x: Value, rope: Rope): Value {
  const [even, odd] = g.split(g.reshape(x, rope.pairs), 3, 2) as [Value, Value];
  return g.reshape(g.concat([odd, even], 3), rope.rows);
}

/** Rotates x [B, T, d]. */
export function ropeForward(g: Graph, x: Value, rope: Rope): Value {
  return g.add(g.mul(x, rope.cos), g.mul(swapPairs(g, x, rope), rope.sin));
}

/** The transpose of ropeForward (a rotation by −angle): dx = dy ⊙ C + swap(dy ⊙ S). */
export function ropeBackward(g: Graph, dy: Value, rope: Rope): Value {
  return g.add(g.mul(dy, rope.cos), swapPairs(g, g.mul(dy, rope.sin), rope));
}

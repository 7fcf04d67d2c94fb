import type { ModelConfig } from '../../reference/config.ts';
import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';

/** Runtime sizes of the batch, derived from the tokens input [B, T]. */
export interface Sequence {
  /** T as an int64 [1]. */
  readonly T: Value;
  /** The number of tokens B · T as a float scalar. */
  readonly n: Value;
  /** Reshape targets [B, T, d] and [B, T, nHeads, headDim]. */
  readonly rows: Value;
  readonly heads: Value;
  /** Reshape target [B · T, d]. */
  readonly flat: Value;
}

export function sequenceOf(g: Graph, tokens: Value, cfg: ModelConfig): Sequence {
  const T = g.slice(g.shape(tokens), g.ints([1]), g.ints([2]), [0]);
  const shapeOf = (tail: readonly number[]): Value => g.concat([g.ints([-1]), T, g.ints(tail)], 0);
  return {
    T,
    n: g.cast(g.size(tokens), 'float32'),
    rows: shapeOf([cfg.dModel]),
    heads: shapeOf([cfg.nHeads, cfg.dModel / cfg.nHeads]),
    flat: g.ints([-1, cfg.dModel]),
  };
}

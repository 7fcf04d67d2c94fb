import type { ModelConfig } from '../../reference/config.ts';
import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';
import type { Sequence } from './sequence.ts';

/** Each sequence's budget as graph values, float [B]: experts per layer and prompt tokens. */
export interface BudgetInputs {
  readonly experts: Value;
  readonly promptTokens: Value;
}

/** float [B, T, 1]: 1 at the positions before each sequence's prompt length, else 0. */
export function promptMask(g: Graph, budgets: BudgetInputs, seq: Sequence): Value {
  const positions = g.cast(g.range(g.int(0), g.reshape(seq.T, []), g.int(1)), 'float32');
  return g.unsqueeze(g.cast(g.less(g.unsqueeze(positions, [0]), g.unsqueeze(budgets.promptTokens, [1])), 'float32'), [2]);
}

/**
 * The reference's per-sequence choice (routing.ts chooseStaticExperts over each sequence's prompt)
 * as graph ops: per sequence, the `experts` experts of `layerAllowed` (bool [E]) with the largest
 * summed probability over the prompt, ties to the lower index, found by rank: expert e is kept when
 * fewer than `experts` experts beat it (a larger sum, or an equal one at a lower index). Returns
 * bool [n, E], each token's row its sequence's set.
 */
export function budgetAllowed(g: Graph, probs: Value, layerAllowed: Value, budgets: BudgetInputs, mask: Value, seq: Sequence, cfg: ModelConfig): Value {
  const E = cfg.nExperts;
  const perSequence = g.reshape(probs, g.concat([g.ints([-1]), seq.T, g.ints([E])], 0));
  const totals = g.where(layerAllowed, g.reduceSum(g.mul(perSequence, mask), [1], false), g.scalar(-1));
  const mine = g.unsqueeze(totals, [2]);
  const theirs = g.unsqueeze(totals, [1]);
  const lowerIndex = g.initializer('bool', Array.from({ length: E * E }, (_, i) => Number(i % E < Math.floor(i / E))), [E, E]);
  const beats = g.or(g.greater(theirs, mine), g.and(g.equal(theirs, mine), lowerIndex));
  const rank = g.reduceSum(g.cast(beats, 'float32'), [2], false);
  const kept = g.and(g.less(rank, g.unsqueeze(budgets.experts, [1])), layerAllowed);
  return g.reshape(g.expand(g.unsqueeze(kept, [1]), g.shape(perSequence)), [-1, E]);
}

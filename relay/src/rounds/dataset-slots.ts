import type { ModelConfig, ParamMap } from '@blyan/model';
import { expertSlotName } from '@blyan/model/blocks';
import { routingCounts } from '@blyan/model/grow';

/** Each expert slot's share of its layer's top-K picks on `stream` (routingCounts over at most `windows` windows). */
function pickShares(params: ParamMap, cfg: ModelConfig, stream: Int32Array, windows: number): Map<string, number> {
  const shares = new Map<string, number>();
  for (const [layer, counts] of routingCounts(params, cfg, stream, windows).entries()) {
    const total = counts.reduce((a, b) => a + b, 0);
    for (const [e, n] of counts.entries()) shares.set(expertSlotName(layer, e), total === 0 ? 0 : n / total);
  }
  return shares;
}

/**
 * The `count` expert slots rounds on a dataset train, best first: those the router sends the
 * dataset's public text to much more than the genesis hidden pool (share of the layer's picks on
 * the dataset minus share on the pool, over at most `windows` windows of each; ties to the slot
 * name), as `pnpm bench:swarm` picks its experts. An expert the dataset's text never reaches
 * cannot learn it (a work unit on one gains nothing on its own shard and is dropped), and one the
 * genesis text uses little costs the genesis domain least.
 */
export function datasetSlots(params: ParamMap, cfg: ModelConfig, dataset: Int32Array, genesis: Int32Array, count: number, windows: number): string[] {
  const mine = pickShares(params, cfg, dataset, windows);
  const theirs = pickShares(params, cfg, genesis, windows);
  return [...mine.keys()]
    .map((slot) => ({ slot, score: mine.get(slot)! - (theirs.get(slot) ?? 0) }))
    .sort((a, b) => b.score - a.score || a.slot.localeCompare(b.slot))
    .slice(0, count)
    .map((s) => s.slot);
}

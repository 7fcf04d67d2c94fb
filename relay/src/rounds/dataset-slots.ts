import type { ModelConfig, ParamMap } from '@blyan/model';
import { expertSlotName } from '@blyan/model/blocks';
import { routingCounts } from '@blyan/model/grow';

/**
 * The `count` expert slots rounds on a dataset train, best first: those with the largest share of
 * their layer's top-K picks on the dataset's public text `stream` (routingCounts over at most
 * `windows` windows; ties to the slot name), the experts growth upcycles for a dataset too. A unit
 * can only gain where the dataset's tokens reach: on genesis v2 a unit of DEFAULT_CONTRIBUTE on an
 * expert mail text rarely reaches gained 0.00–0.02 nats/token on its own shard (dropped at the
 * 0.02 margin), on the most-routed one 0.33–0.56. The genesis domain is guarded when the round is
 * judged (non-inferiority), not here.
 */
export function datasetSlots(params: ParamMap, cfg: ModelConfig, stream: Int32Array, count: number, windows: number): string[] {
  const shares: { slot: string; share: number }[] = [];
  for (const [layer, counts] of routingCounts(params, cfg, stream, windows).entries()) {
    const total = counts.reduce((a, b) => a + b, 0);
    for (const [e, n] of counts.entries()) shares.push({ slot: expertSlotName(layer, e), share: total === 0 ? 0 : n / total });
  }
  return shares
    .sort((a, b) => b.share - a.share || a.slot.localeCompare(b.slot))
    .slice(0, count)
    .map((s) => s.slot);
}

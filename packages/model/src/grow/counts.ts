import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { forward } from '../reference/model.ts';

/**
 * How often the router picks each expert on a token stream: per layer, the number of top-K
 * assignments each expert receives under dynamic routing, over the non-overlapping windows of
 * contextLength tokens that fit the stream (at most `maxWindows` of them, spread from its start).
 */
export function routingCounts(params: Readonly<ParamMap>, cfg: ModelConfig, stream: Int32Array, maxWindows = Infinity): number[][] {
  const T = Math.min(cfg.contextLength, stream.length - 1);
  if (T < 1) throw new Error('routingCounts needs a stream of at least two tokens');
  const windows = Math.min(maxWindows, Math.floor((stream.length - 1) / T));
  const counts = Array.from({ length: cfg.nLayers }, () => new Array<number>(cfg.nExperts).fill(0));
  for (let w = 0; w < windows; w++) {
    const inputs = stream.subarray(w * T, (w + 1) * T);
    const targets = stream.subarray(w * T + 1, (w + 1) * T + 1);
    const acts = forward(params as ParamMap, cfg, inputs, targets, 1, T);
    for (const [l, { acts: layer }] of acts.layers.entries()) for (const e of layer.moe.experts) counts[l]![e]!++;
  }
  return counts;
}

/** Per layer the `n` most-picked experts, most picked first, ties to the lower index. */
export function mostRouted(counts: readonly (readonly number[])[], n: number): number[][] {
  return counts.map((layer, l) => {
    if (!Number.isSafeInteger(n) || n < 1 || n > layer.length) throw new Error(`layer ${l}: cannot pick ${n} of ${layer.length} experts`);
    return layer
      .map((count, e) => ({ count, e }))
      .sort((a, b) => b.count - a.count || a.e - b.e)
      .slice(0, n)
      .map(({ e }) => e);
  });
}

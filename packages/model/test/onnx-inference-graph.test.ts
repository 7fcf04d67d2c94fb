/**
 * The routed forward graph (for browsers that fetch experts lazily) against the CPU reference:
 * logits, router probabilities and which experts each token was routed to.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { batchFeeds, maskFeeds, paramFeeds } from '../src/onnx/feeds.ts';
import { buildRoutedForwardGraph, routedName, routerProbsName } from '../src/onnx/graphs.ts';
import { type ModelConfig, type Routing, initParams, prefill } from '../src/reference/index.ts';
import { maxAbsDiff } from './compare.ts';

const cfg: ModelConfig = { vocabSize: 50, dModel: 16, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 24, contextLength: 16, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const tokens = [3, 17, 42, 8, 8, 1];

async function run(masks?: readonly (readonly number[] | null)[]) {
  const params = initParams(cfg, 5);
  const session = await ort.InferenceSession.create(buildRoutedForwardGraph(cfg));
  const feeds = { ...paramFeeds(params, cfg), ...batchFeeds({ tokens, targets: tokens.map(() => 0), B: 1, T: tokens.length }, cfg), ...maskFeeds(masks, cfg) };
  const out = await session.run(feeds);
  await session.release();
  return { params, out };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const { err, scale } = maxAbsDiff(actual, expected);
  expect(err).toBeLessThanOrEqual(1e-4 * scale);
}

describe('buildRoutedForwardGraph', () => {
  for (const [label, masks] of [
    ['dynamic', undefined],
    ['static', [[0, 2, 3], [1, 2]]],
  ] as const) {
    it(`gives the reference's last logits, router probabilities and routes (${label})`, async () => {
      const { params, out } = await run(masks);
      const routing: Routing = masks ? { mode: 'static', allowed: masks } : { mode: 'dynamic' };
      const ref = prefill(params, cfg, tokens, routing);
      const V = cfg.vocabSize;
      const logits = out.logits!.data as Float32Array;
      expectClose(logits.subarray((tokens.length - 1) * V), ref.logits);
      for (let l = 0; l < cfg.nLayers; l++) {
        const routed = out[routedName(l)]!.data as Float32Array;
        const probs = out[routerProbsName(l)]!.data as Float32Array;
        for (let t = 0; t < tokens.length; t++) {
          const row = Array.from(routed.subarray(t * cfg.nExperts, (t + 1) * cfg.nExperts));
          const chosen = row.flatMap((v, e) => (v === 1 ? [e] : []));
          expect(chosen).toEqual([...ref.state.routes[l]![t]!.experts].sort((a, b) => a - b));
          expectClose(probs.subarray(t * cfg.nExperts, (t + 1) * cfg.nExperts), ref.state.routes[l]![t]!.probs);
        }
      }
    });
  }
});

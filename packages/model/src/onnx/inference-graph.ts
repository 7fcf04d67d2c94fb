import { type ModelConfig, validateConfig } from '../reference/config.ts';
import { Graph } from './graph-ops.ts';
import { modelForward } from './model-graph.ts';
import { declareModelInputs } from './model-inputs.ts';
import { LOGITS } from './names.ts';

/** Output names of the routed forward graph's per-layer routing. */
export const routerProbsName = (layer: number): string => `router_probs.${layer}`;
export const routedName = (layer: number): string => `routed.${layer}`;

/**
 * The forward graph for inference with lazily loaded experts: the inputs of buildForwardGraph
 * (targets are read by nothing the outputs need; feed zeros), outputs logits [batch, seq, V] and
 * per layer the router softmax `router_probs.{l}` and `routed.{l}` (1 where a token is routed to
 * the expert), both [batch · seq, E]. A client feeds zeros for experts it has not fetched and checks
 * `routed` to see whether any token needed one of them.
 */
export function buildRoutedForwardGraph(cfg: ModelConfig): Uint8Array {
  validateConfig(cfg);
  const g = new Graph('blyan_routed_forward');
  const fwd = modelForward(g, cfg, declareModelInputs(g, cfg));
  g.output(fwd.logits, LOGITS, 'float32', ['batch', 'seq', cfg.vocabSize]);
  for (const b of fwd.blocks) {
    g.output(b.routing.probs, routerProbsName(b.layer), 'float32', ['n', cfg.nExperts]);
    g.output(b.routing.chosen, routedName(b.layer), 'float32', ['n', cfg.nExperts]);
  }
  return g.toBytes();
}

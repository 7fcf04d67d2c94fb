import { type ModelConfig, validateConfig } from '../reference/config.ts';
import { Graph } from './graph-ops.ts';
import { modelForward } from './model-graph.ts';
import { declareModelInputs } from './model-inputs.ts';
import { AUX, CE, LOCALITY, LOGITS, LOSS } from './names.ts';

/**
 * The forward graph: inputs = every parameter, tokens and targets int64 [batch, seq], expert masks
 * float [nLayers, nExperts] (and, with sequence budgets, expert_budgets and prompt_lengths float
 * [batch]); outputs logits [batch, seq, V], loss, ce, aux (and locality).
 */
export function buildForwardGraph(cfg: ModelConfig): Uint8Array {
  validateConfig(cfg);
  const g = new Graph('blyan_forward');
  const inputs = declareModelInputs(g, cfg);
  const fwd = modelForward(g, cfg, inputs);
  g.output(fwd.logits, LOGITS, 'float32', ['batch', 'seq', cfg.vocabSize]);
  g.output(fwd.loss, LOSS, 'float32', []);
  g.output(fwd.ce, CE, 'float32', []);
  g.output(fwd.aux, AUX, 'float32', []);
  if (fwd.locality) g.output(fwd.locality, LOCALITY, 'float32', []);
  return g.toBytes();
}

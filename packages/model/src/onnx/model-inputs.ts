import type { ModelConfig } from '../reference/config.ts';
import { parameterShapes } from '../reference/params.ts';
import type { Value } from './graph-builder.ts';
import type { Graph } from './graph-ops.ts';
import type { ModelInputs } from './model-graph.ts';
import { EXPERT_BUDGETS, EXPERT_MASKS, PROMPT_LENGTHS, TARGETS, TOKENS } from './names.ts';

/**
 * Declares every parameter, the tokens, the targets and the expert masks as graph inputs, and with
 * sequence budgets each sequence's expert budget and prompt length.
 */
export function declareModelInputs(g: Graph, cfg: ModelConfig): ModelInputs {
  const params = new Map<string, Value>();
  for (const { name, shape } of parameterShapes(cfg)) params.set(name, g.input(name, 'float32', shape));
  const param = (name: string): Value => {
    const value = params.get(name);
    if (value === undefined) throw new Error(`the model has no parameter "${name}"`);
    return value;
  };
  const inputs = {
    param,
    tokens: g.input(TOKENS, 'int64', ['batch', 'seq']),
    targets: g.input(TARGETS, 'int64', ['batch', 'seq']),
    masks: g.input(EXPERT_MASKS, 'float32', [cfg.nLayers, cfg.nExperts]),
  };
  if (cfg.sequenceBudgets === undefined) return inputs;
  return { ...inputs, budgets: { experts: g.input(EXPERT_BUDGETS, 'float32', ['batch']), promptTokens: g.input(PROMPT_LENGTHS, 'float32', ['batch']) } };
}

import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { prefill } from '../reference/inference.ts';
import type { EvalBackend } from './eval-backend.ts';
import type { WindowLosses } from './score.ts';

export type { WindowLosses };

/**
 * Static-prompt routing as a client runs it: each window's context (its inputs before the first
 * scored target, at least one token) is the prompt, from which prefill picks m experts per layer;
 * the whole window is then scored within those sets. Windows are processed one at a time.
 */
export function staticPromptLosses(params: ParamMap, cfg: ModelConfig, m: number, backend: EvalBackend): WindowLosses {
  return async (batch, windows) => {
    const { T } = batch;
    const out = new Float32Array(batch.B * T);
    for (const [b, { scoreFrom }] of windows.entries()) {
      const inputs = batch.inputs.subarray(b * T, (b + 1) * T);
      const targets = batch.targets.subarray(b * T, (b + 1) * T);
      const { state } = prefill(params, cfg, inputs.subarray(0, Math.max(1, scoreFrom)), { mode: 'static-prompt', expertsPerLayer: m });
      out.set(await backend.tokenLosses({ inputs, targets, B: 1, T }, state.allowed), b * T);
    }
    return out;
  };
}

/**
 * The same routing in one backend call per batch, for a model with sequence budgets: each window
 * routes within a budget of m experts per layer chosen from its prompt (the unscored context, at
 * least one token), which the backend computes itself.
 */
export function budgetLosses(m: number, backend: EvalBackend): WindowLosses {
  return (batch, windows) => backend.tokenLosses({ ...batch, budgets: windows.map(({ scoreFrom }) => ({ experts: m, promptTokens: Math.max(1, scoreFrom) })) });
}

/** The fastest scorer of prompt-chosen routing the model supports: budgetLosses with sequence budgets, else staticPromptLosses. */
export function promptChosenLosses(params: ParamMap, cfg: ModelConfig, m: number, backend: EvalBackend): WindowLosses {
  return cfg.sequenceBudgets ? budgetLosses(m, backend) : staticPromptLosses(params, cfg, m, backend);
}

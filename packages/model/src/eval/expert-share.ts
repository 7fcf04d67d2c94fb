import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { expertsUsed, greedyDecode } from '../reference/inference.ts';
import type { Routing } from '../reference/routing.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';

/** One-sentence prompts (those of the browser benchmark, apps/web/bench/browser.ts). */
export const SHARE_PROMPTS = ['The router picks two experts', 'Once upon a time there was a', 'Numbers and punctuation, too:', 'A chain of blocks can hold', 'Idle graphics processors train'];

/** Tokens of the greedy answer each prompt gets. */
export const ANSWER_TOKENS = 32;

export interface ExpertShare {
  /** Mean over the prompts of the experts the prompt and its answer were routed to (all layers). */
  readonly experts: number;
  /** That as a share of all nLayers · nExperts experts: the share of expert bytes a client fetches. */
  readonly share: number;
}

/**
 * What selective loading saves: for each prompt, the experts a client must hold to run it and a
 * greedy answer of `answerTokens` under `routing` (the CPU reference, as the app's planner sees it),
 * averaged over the prompts. Every expert has the same size, so the count is the byte share.
 */
export function expertShare(params: ParamMap, cfg: ModelConfig, tokenizer: Tokenizer, routing: Routing, prompts: readonly string[] = SHARE_PROMPTS, answerTokens = ANSWER_TOKENS): ExpertShare {
  const counts = prompts.map((prompt) => {
    const { state } = greedyDecode(params, cfg, tokenizer.encode(prompt), answerTokens, routing);
    return expertsUsed(state).reduce((sum, layer) => sum + layer.length, 0);
  });
  const experts = counts.reduce((a, b) => a + b, 0) / counts.length;
  return { experts, share: experts / (cfg.nLayers * cfg.nExperts) };
}

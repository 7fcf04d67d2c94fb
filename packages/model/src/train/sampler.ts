import type { ModelConfig } from '../reference/config.ts';
import { Rng } from '../reference/rng.ts';
import type { SequenceBudget } from '../reference/routing.ts';
import type { BudgetDraw } from './run-spec.ts';

/** B windows of T inputs and their T next-token targets, [B, T] each, row-major. */
export interface Batch {
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  readonly B: number;
  readonly T: number;
  /** One per window, for a model with sequence budgets; omitted = dynamic routing. */
  readonly budgets?: readonly SequenceBudget[];
}

/** murmur3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The generator of step `step` of a run seeded `seed`. Counter-based: each step's draws depend on
 * (seed, step) only, so the sampler's whole state is the step number and a resumed run draws
 * exactly the windows an uninterrupted one would.
 */
export function stepRng(seed: number, step: number): Rng {
  return new Rng(fmix32((fmix32(seed >>> 0) + Math.imul(step + 1, 0x9e3779b9)) >>> 0));
}

/** B windows of T + 1 consecutive tokens starting at uniformly random offsets of `stream`. */
export function sampleBatch(stream: Int32Array, B: number, T: number, seed: number, step: number): Batch {
  const span = stream.length - T;
  if (span < 1) throw new Error(`the token stream has ${stream.length} tokens, fewer than one window of ${T + 1}`);
  const rng = stepRng(seed, step);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(rng.next() * span);
    inputs.set(stream.subarray(start, start + T), b * T);
    targets.set(stream.subarray(start + 1, start + T + 1), b * T);
  }
  return { inputs, targets, B, T };
}

/** Prompts of sampled budgets are between MIN_PROMPT_TOKENS (a few words) and T / 2 tokens long. */
const MIN_PROMPT_TOKENS = 4;

/**
 * B budgets for step `step`, so that every budget works after training: by default experts uniform
 * in [topK, nExperts] (nExperts = dynamic routing); with a `draw`, every window outside steps
 * [draw.fromStep, draw.untilStep) is dynamic, and inside them a window is dynamic with probability
 * draw.dynamicShare and otherwise uniform in [topK, draw.maxExperts] (share 0, maxExperts nExperts
 * and every step inside draw as the default, draw for draw). Prompt length uniform in [4, T / 2].
 * Drawn from their own counter-based stream (seed + 1), so the windows stay those of a run without
 * budgets.
 */
export function sampleBudgets(cfg: ModelConfig, B: number, T: number, seed: number, step: number, draw?: BudgetDraw): SequenceBudget[] {
  if (draw !== undefined && !(draw.maxExperts >= cfg.topK && draw.maxExperts <= cfg.nExperts)) {
    throw new Error(`the budget draw's maxExperts must be in [topK = ${cfg.topK}, nExperts = ${cfg.nExperts}], got ${draw.maxExperts}`);
  }
  const rng = stepRng((seed + 1) >>> 0, step);
  const between = (lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));
  const experts = (): number => {
    if (draw === undefined) return between(cfg.topK, cfg.nExperts);
    if (step < draw.fromStep || step >= draw.untilStep || (draw.dynamicShare > 0 && rng.next() < draw.dynamicShare)) return cfg.nExperts;
    return between(cfg.topK, draw.maxExperts);
  };
  const longest = Math.max(1, Math.floor(T / 2));
  return Array.from({ length: B }, () => ({ experts: experts(), promptTokens: between(Math.min(MIN_PROMPT_TOKENS, longest), longest) }));
}

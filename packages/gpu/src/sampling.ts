import type { SamplingOptions } from '@blyan/model';

export interface GenerateOptions {
  /** Tokens to generate at most. */
  readonly maxTokens: number;
  readonly sampling?: SamplingOptions;
  /** Seed of the Rng whose draws pick sampled tokens (one per token unless greedy). Default 0. */
  readonly seed?: number;
  /** Generation stops after yielding one of these. */
  readonly stopTokens?: readonly number[];
}

/** The sampling fields of a generation, checked (temperature 0: greedy). */
export function samplingOf(options: GenerateOptions): { readonly temperature: number; readonly topK: number; readonly topP: number } {
  const { temperature = 1, topK = 0, topP = 1 } = options.sampling ?? {};
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw new Error(`temperature must be a finite number ≥ 0, got ${temperature}`);
  if (!Number.isSafeInteger(topK) || topK < 0) throw new Error(`topK must be an integer ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  if (!Number.isSafeInteger(options.maxTokens) || options.maxTokens < 0) throw new Error(`maxTokens must be an integer ≥ 0, got ${options.maxTokens}`);
  return { temperature, topK, topP };
}

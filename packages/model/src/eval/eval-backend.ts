import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { AllowedSet } from '../reference/routing.ts';
import type { LossBackend } from '../train/backend.ts';
import { referenceLosses } from '../train/reference-backend.ts';
import type { Batch } from '../train/sampler.ts';

/** Per-token cross-entropy under fixed parameters, optionally with every layer routing within a fixed set. */
export interface EvalBackend extends LossBackend {
  /** `allowed[layer]` (null or absent = all experts) applies to every window of the batch. */
  tokenLosses(batch: Batch, allowed?: readonly AllowedSet[]): Promise<Float32Array>;
}

export type EvalBackendFactory = (cfg: ModelConfig, params: ParamMap) => Promise<EvalBackend>;

/** The CPU reference's forward pass (slow: ~1k tokens/s on the genesis config). */
export async function referenceEvalBackend(cfg: ModelConfig, params: ParamMap): Promise<EvalBackend> {
  return { tokenLosses: async (batch, allowed) => referenceLosses(params, cfg, batch, allowed), dispose: async () => {} };
}

import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { AllowedSet } from '../reference/routing.ts';
import type { LossBackend } from '../train/backend.ts';
import type { Batch } from '../train/sampler.ts';
import { routedLosses } from './routed-losses.ts';

/** Per-token cross-entropy under fixed parameters, optionally with every layer routing within a fixed set. */
export interface EvalBackend extends LossBackend {
  /** `allowed[layer]` (null or absent = all experts) applies to every window of the batch. */
  tokenLosses(batch: Batch, allowed?: readonly AllowedSet[]): Promise<Float32Array>;
}

export type EvalBackendFactory = (cfg: ModelConfig, params: ParamMap) => Promise<EvalBackend>;

/** The CPU reference, one window at a time (slow: ~1k tokens/s on the genesis config). */
export async function referenceEvalBackend(cfg: ModelConfig, params: ParamMap): Promise<EvalBackend> {
  return {
    async tokenLosses(batch, allowed = []) {
      const { B, T } = batch;
      const out = new Float32Array(B * T);
      for (let b = 0; b < B; b++) {
        const rows = (a: Int32Array): Int32Array => a.subarray(b * T, (b + 1) * T);
        out.set(routedLosses(params, cfg, rows(batch.inputs), rows(batch.targets), allowed), b * T);
      }
      return out;
    },
    dispose: async () => {},
  };
}

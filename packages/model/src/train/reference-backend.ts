import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { adamwStep, createAdamW } from '../reference/adamw.ts';
import { type TrainRouting, backward, forward } from '../reference/model.ts';
import type { AllowedSet } from '../reference/routing.ts';
import { type TrainBackend, type TrainState, copyParams, restoreOptimizer } from './backend.ts';
import type { Batch } from './sampler.ts';

/**
 * Per-token cross-entropy [B·T] of a batch from the reference's forward pass, each layer routing
 * within `allowed[layer]` (null or absent: all experts), or each window within its budget.
 */
export function referenceLosses(params: ParamMap, cfg: ModelConfig, batch: Batch, allowed?: readonly AllowedSet[]): Float32Array {
  return forward(params, cfg, batch.inputs, batch.targets, batch.B, batch.T, routingOf(batch, allowed)).losses;
}

function routingOf(batch: Batch, allowed?: readonly AllowedSet[]): TrainRouting {
  if (batch.budgets === undefined) return allowed ?? [];
  if (allowed !== undefined) throw new Error('give either expert masks (static routing) or sequence budgets, not both');
  return { budgets: batch.budgets };
}

/** The CPU reference as a training backend: forward, backward and adamwStep on a copy of `state`. */
export async function referenceTrainBackend(cfg: ModelConfig, state: TrainState): Promise<TrainBackend> {
  const params = copyParams(state.params);
  const adam = createAdamW(params, cfg);
  restoreOptimizer(adam, state);
  let grads: ParamMap | undefined;
  return {
    async step(batch: Batch, lr: number) {
      const acts = forward(params, cfg, batch.inputs, batch.targets, batch.B, batch.T, routingOf(batch));
      grads = backward(params, cfg, acts, grads);
      const { gradNorm } = adamwStep(adam, params, grads, { lr });
      return { loss: acts.loss, ce: acts.ce, aux: acts.aux, gradNorm };
    },
    tokenLosses: async (batch) => referenceLosses(params, cfg, batch),
    snapshot: async () => ({ params: copyParams(params), m: copyParams(adam.m), v: copyParams(adam.v), step: adam.step }),
    dispose: async () => {},
  };
}

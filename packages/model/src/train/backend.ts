import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { Batch } from './sampler.ts';

/** Everything that evolves during training: parameters, AdamW moments, and steps taken. */
export interface TrainState {
  readonly params: ParamMap;
  readonly m: ParamMap;
  readonly v: ParamMap;
  readonly step: number;
}

/** A copy of a parameter map, every array copied. */
export const copyParams = (map: ParamMap): ParamMap => Object.fromEntries(Object.entries(map).map(([k, t]) => [k, t.slice()]));

/** Loads `state`'s AdamW moments and step into a backend's newly created optimizer state. */
export function restoreOptimizer(opt: { readonly trainable: readonly string[]; readonly m: ParamMap; readonly v: ParamMap; step: number }, state: TrainState): void {
  for (const name of opt.trainable) {
    opt.m[name]!.set(state.m[name]!);
    opt.v[name]!.set(state.v[name]!);
  }
  opt.step = state.step;
}

export interface StepStats {
  /** ce + auxLossCoef · aux. */
  readonly loss: number;
  readonly ce: number;
  readonly aux: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
}

/** Per-token cross-entropy (nats) of a batch under fixed parameters, [B·T]. */
export interface LossBackend {
  tokenLosses(batch: Batch): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** One training process: owns the state and advances it one AdamW step at a time, with ADAMW_DEFAULTS. */
export interface TrainBackend extends LossBackend {
  /** Forward, backward and one AdamW step at learning rate `lr`; tokenLosses then sees the new parameters. */
  step(batch: Batch, lr: number): Promise<StepStats>;
  /** A copy of the current state, for a checkpoint. */
  snapshot(): Promise<TrainState>;
}

export type TrainBackendFactory = (cfg: ModelConfig, state: TrainState) => Promise<TrainBackend>;

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

/** AdamW settings shared by every backend (the reference adamwStep's defaults). */
export interface OptimizerSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
}

export const OPTIMIZER: OptimizerSettings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };

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

/** One training process: owns the state and advances it one AdamW step at a time. */
export interface TrainBackend extends LossBackend {
  /** Forward, backward and one AdamW step at learning rate `lr`; tokenLosses then sees the new parameters. */
  step(batch: Batch, lr: number): Promise<StepStats>;
  /** A copy of the current state, for a checkpoint. */
  snapshot(): Promise<TrainState>;
}

export type TrainBackendFactory = (cfg: ModelConfig, state: TrainState, optimizer: OptimizerSettings) => Promise<TrainBackend>;

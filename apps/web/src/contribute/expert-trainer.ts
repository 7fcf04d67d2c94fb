import type { AdamWOptions } from '@blyan/model';

/** Trains one expert with the rest of the model frozen, on WebGPU or on the CPU reference. */
export interface ExpertTrainer {
  readonly backend: 'webgpu' | 'cpu';
  /** One micro-step on a [B, T] batch followed by an AdamW step; returns the loss (nats/token). */
  microStep(inputs: number[], targets: number[]): Promise<number>;
  /** Trained minus starting weights, by tensor name (e.g. `layers.0.experts.3.w1`). */
  change(): Promise<Record<string, Float32Array>>;
  destroy(): void;
}

export interface TrainSettings {
  batch: number;
  seqLen: number;
  adamw: AdamWOptions;
}

/**
 * @blyan/gpu: the Blyan MoE model on WebGPU, with hand-written WGSL kernels for inference and for
 * training one expert, each tested against the CPU reference. Browser-portable; in Node get a
 * device from src/node-device.ts.
 */
export { BlyanEngine, type EngineOptions, type Precision } from './engine.ts';
export type { DecodePass } from './inference.ts';
export { OnFirstUse, type PassName, type PipelineState } from './passes.ts';
export { requestGpuDevice } from './device.ts';
export { GpuDeviceLostError, GpuUnavailableError } from './errors.ts';
export type { GenerateOptions } from './sampling.ts';
export type { BatchDecoder, BatchOptions } from './batch.ts';
export type { ExpertArrays, StepLoss, Trainer, TrainerOptions } from './training.ts';
export type { ExpertTensors } from './weights.ts';
export { MissingExpertError } from '@blyan/model';

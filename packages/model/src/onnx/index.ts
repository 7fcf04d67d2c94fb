/** The model on ONNX Runtime: graph generation (graphs.ts, browser-safe) and the onnxruntime-node runner. */
export * from './graphs.ts';
export type { Batch, ExpertMasks } from './feeds.ts';
export { type ForwardResult, type GradientResult, OnnxModel, type OnnxModelOptions, type TrainState, type TrainStepResult } from './session.ts';
export { onnxTokenLosses } from '../train/onnx-backend.ts';

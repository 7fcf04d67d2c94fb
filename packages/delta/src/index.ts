/** Expert updates as int8, top-k sparse deltas against a base block (browser-safe). */
export { DeltaError, type DeltaErrorCode, type ExpertDelta, type SparseTensorDelta } from './types.ts';
export { decodeDelta, encodeDelta } from './wire.ts';
export { sparsifyDelta } from './sparsify.ts';
export { applyDelta, compression, deltaNorm, paramsNorm } from './apply.ts';
export { expertCandidate } from './expert.ts';

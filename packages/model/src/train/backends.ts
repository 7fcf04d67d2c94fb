import type { TrainBackendFactory } from './backend.ts';
import { onnxTrainBackend } from './onnx-backend.ts';
import { referenceTrainBackend } from './reference-backend.ts';

/** Training backends by name, the default first. */
export const BACKEND_NAMES = ['ort', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function trainBackend(name: BackendName): TrainBackendFactory {
  return { ort: onnxTrainBackend, reference: referenceTrainBackend }[name];
}

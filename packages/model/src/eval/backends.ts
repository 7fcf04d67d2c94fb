import { OnnxModel } from '../onnx/session.ts';
import { ORT_THREADS, onnxTokenLosses } from '../train/onnx-backend.ts';
import { type EvalBackend, type EvalBackendFactory, referenceEvalBackend } from './eval-backend.ts';

/** Evaluation on onnxruntime-node's forward graph; static routing through its expert masks. */
async function onnxEvalBackend(...[cfg, params]: Parameters<EvalBackendFactory>): Promise<EvalBackend> {
  const model = OnnxModel.create(cfg, { intraOpThreads: ORT_THREADS });
  return {
    tokenLosses: (batch, allowed) => onnxTokenLosses(model, params, batch, allowed),
    dispose: () => model.dispose(),
  };
}

/** Evaluation backends by name, the default first. */
export const EVAL_BACKEND_NAMES = ['ort', 'reference'] as const;
type EvalBackendName = (typeof EVAL_BACKEND_NAMES)[number];

export function evalBackend(name: EvalBackendName): EvalBackendFactory {
  return { ort: onnxEvalBackend, reference: referenceEvalBackend }[name];
}

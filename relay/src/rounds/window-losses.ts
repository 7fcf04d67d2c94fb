import { type ParamMap, crossEntropyForward } from '@blyan/model';
import { type Window, windowBatch } from '@blyan/model/eval';
import type { OnnxModel } from '@blyan/model/onnx';

/**
 * Mean cross-entropy (nats/token) over the scored targets (from `scoreFrom` on) of each window of
 * `stream` under `params`, on the ONNX forward graph, `perBatch` windows per pass: the per-window
 * losses a paired test compares.
 */
export async function windowLosses(model: OnnxModel, params: ParamMap, stream: Int32Array, windows: readonly Window[], length: number, perBatch: number): Promise<number[]> {
  const out: number[] = [];
  const V = model.cfg.vocabSize;
  for (let i = 0; i < windows.length; i += perBatch) {
    const batch = windowBatch(stream, windows.slice(i, i + perBatch), length);
    const { logits } = await model.forward(params, { tokens: batch.inputs, targets: batch.targets, B: batch.B, T: batch.T });
    const n = batch.B * batch.T;
    const losses = new Float32Array(n);
    crossEntropyForward(losses, new Float32Array(n * V), logits, batch.targets, n, V);
    for (let b = 0; b < batch.B; b++) {
      const from = windows[i + b]!.scoreFrom;
      let s = 0;
      for (let t = from; t < length; t++) s += losses[b * length + t]!;
      out.push(s / (length - from));
    }
  }
  return out;
}

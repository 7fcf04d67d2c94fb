import { type ParamMap, crossEntropyForward } from '@blyan/model';
import { type Window, windowBatch } from '@blyan/model/eval';
import type { OnnxModel } from '@blyan/model/onnx';

/** Per-token cross-entropy [B·T] of a batch of windows (the windows given for scorers whose routing needs them). */
export type BatchLosses = (batch: ReturnType<typeof windowBatch>, windows: readonly Window[]) => Promise<Float32Array>;

/**
 * Mean cross-entropy (nats/token) over the scored targets (from `scoreFrom` on) of each window of
 * `stream` under `lossesOf`, `perBatch` windows per pass: the per-window losses a paired test compares.
 */
export async function windowMeans(lossesOf: BatchLosses, stream: Int32Array, windows: readonly Window[], length: number, perBatch: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < windows.length; i += perBatch) {
    const group = windows.slice(i, i + perBatch);
    const losses = await lossesOf(windowBatch(stream, group, length), group);
    for (const [b, { scoreFrom }] of group.entries()) {
      let s = 0;
      for (let t = scoreFrom; t < length; t++) s += losses[b * length + t]!;
      out.push(s / (length - scoreFrom));
    }
  }
  return out;
}

/** windowMeans of `params` on the ONNX forward graph (dynamic routing). */
export function windowLosses(model: OnnxModel, params: ParamMap, stream: Int32Array, windows: readonly Window[], length: number, perBatch: number): Promise<number[]> {
  const V = model.cfg.vocabSize;
  return windowMeans(
    async (batch) => {
      const { logits } = await model.forward(params, { tokens: batch.inputs, targets: batch.targets, B: batch.B, T: batch.T });
      const n = batch.B * batch.T;
      const losses = new Float32Array(n);
      crossEntropyForward(losses, new Float32Array(n * V), logits, batch.targets, n, V);
      return losses;
    },
    stream,
    windows,
    length,
    perBatch,
  );
}

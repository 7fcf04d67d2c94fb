import type { ParamMap } from '@blyan/model';
import { type Window, windowBatch } from '@blyan/model/eval';
import type { OnnxModel } from '@blyan/model/onnx';

/**
 * Cross-entropy (nats) summed over all `length` targets of each window of `stream`, `perBatch`
 * windows per pass of the relay's ONNX forward graph (each pass: its mean `ce` × B·T).
 * It reads the graph's f32 mean, not the model package's per-token losses (onnxTokenLosses +
 * scoreWindows): the same sum to f32 rounding, without moving B·T·V logits out to a softmax in JS.
 */
export async function windowNats(model: OnnxModel, params: ParamMap, stream: Int32Array, windows: readonly Window[], length: number, perBatch: number): Promise<number> {
  let nats = 0;
  for (let i = 0; i < windows.length; i += perBatch) {
    const b = windowBatch(stream, windows.slice(i, i + perBatch), length);
    const { ce } = await model.forward(params, { tokens: b.inputs, targets: b.targets, B: b.B, T: b.T });
    nats += ce * b.B * b.T;
  }
  return nats;
}

import { crossEntropyForward, forward, initParams } from '@blyan/model';
import { OnnxModel } from '@blyan/model/onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { windowLosses } from '../src/rounds/window-losses.ts';
import { TINY } from './helpers.ts';

const model = OnnxModel.create(TINY, { intraOpThreads: 1 });
afterAll(() => model.dispose());

describe('windowLosses', () => {
  it('gives each window the mean loss of its scored targets, as the CPU reference computes it', async () => {
    const params = initParams(TINY, 3);
    const stream = Int32Array.from({ length: 200 }, (_, i) => (i * 37 + (i >> 3)) % TINY.vocabSize);
    const T = TINY.contextLength;
    const windows = [
      { start: 0, scoreFrom: 0 },
      { start: 50, scoreFrom: 5 },
      { start: 120, scoreFrom: T - 1 },
    ];
    const got = await windowLosses(model, params, stream, windows, T, 2);
    const want = windows.map(({ start, scoreFrom }) => {
      const inputs = stream.subarray(start, start + T);
      const targets = stream.subarray(start + 1, start + T + 1);
      const acts = forward(params, TINY, inputs, targets, 1, T);
      const losses = new Float32Array(T);
      crossEntropyForward(losses, new Float32Array(T * TINY.vocabSize), acts.logits, targets, T, TINY.vocabSize);
      return losses.subarray(scoreFrom).reduce((s, l) => s + l, 0) / (T - scoreFrom);
    });
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 4));
  });
});

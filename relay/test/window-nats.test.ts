import { initParams, trainTokenizer } from '@blyan/model';
import { evalStream, windowBatch } from '@blyan/model/eval';
import { OnnxModel, onnxTokenLosses } from '@blyan/model/onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { windowNats } from '../src/contributions/window-nats.ts';
import { documentBpb } from '../src/data/scoring.ts';
import { TINY } from './helpers.ts';

const model = OnnxModel.create(TINY, { intraOpThreads: 1 });
afterAll(() => model.dispose());

const params = initParams(TINY, 3);
const T = TINY.contextLength;
const stream = Int32Array.from({ length: 200 }, (_, i) => (i * 37 + (i >> 3)) % TINY.vocabSize);

/** The model package's figure: its per-token losses (onnxTokenLosses) of one window, summed. */
async function specNats(s: Int32Array, start: number, length: number): Promise<number> {
  return (await onnxTokenLosses(model, params, windowBatch(s, [{ start, scoreFrom: 0 }], length))).reduce((a, l) => a + l, 0);
}

describe('windowNats: the relay graph cross-entropy of the hidden evaluation and L1 scoring', () => {
  it('sums every target of each window as the model package’s per-token losses do, however many windows share a pass', async () => {
    const starts = [0, 37, 100, 150, 183];
    let want = 0;
    for (const start of starts) want += await specNats(stream, start, T);
    const windows = starts.map((start) => ({ start, scoreFrom: 0 }));
    for (const perBatch of [1, 2, 5]) expect(await windowNats(model, params, stream, windows, T, perBatch)).toBeCloseTo(want, 3);
  });

  it('documentBpb: each target of the document once, in windows of T and a shorter last one, nats / ln 2 / UTF-8 bytes', async () => {
    const text = 'sphinx of black quartz, judge my vow — ünïcode. '.repeat(3);
    const tokenizer = trainTokenizer([text], TINY.vocabSize);
    const s = evalStream(tokenizer, [text]);
    const targets = s.length - 1;
    expect(targets % T).toBeGreaterThan(0);
    let nats = 0;
    for (let start = 0; start < targets; start += T) nats += await specNats(s, start, Math.min(T, targets - start));
    const got = await documentBpb(model, TINY, params, tokenizer, text, 2);
    expect(got.tokens).toBe(targets);
    expect(got.bpb).toBeCloseTo(nats / Math.LN2 / new TextEncoder().encode(text).length, 4);
  });
});

import { describe, expect, it } from 'vitest';
import { evalBackend } from '../src/eval/backends.ts';
import { bitsPerByte, textBytes, tokenByteLengths } from '../src/eval/bpb.ts';
import { referenceEvalBackend } from '../src/eval/eval-backend.ts';
import { withInt8Experts } from '../src/eval/quantize.ts';
import { splitBpb } from '../src/eval/split-bpb.ts';
import { budgetLosses, staticPromptLosses } from '../src/eval/static-routing.ts';
import { expertShare } from '../src/eval/expert-share.ts';
import { evalStream, stridedWindows } from '../src/eval/windows.ts';
import type { ModelConfig } from '../src/reference/config.ts';
import { forward } from '../src/reference/model.ts';
import { expertTensorNames, initParams } from '../src/reference/params.ts';
import { Rng } from '../src/reference/rng.ts';
import { trainTokenizer } from '../src/tokenizer/train.ts';
import { learningRate } from '../src/train/schedule.ts';
import { sampleBatch } from '../src/train/sampler.ts';

const CFG: ModelConfig = { vocabSize: 257, dModel: 16, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 32, contextLength: 16, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
/** No merges: one token per byte, then `<|endoftext|>` = 256. */
const BYTES = trainTokenizer([], 257);
const TEXTS = ['The whale, the whale! ', 'Mr. Speaker, the state of the union is… strong. ', 'Call me Ishmael. '.repeat(3)];

describe('bits per byte', () => {
  it('is total nats / ln 2 / text bytes, charging every token of every document and each end of text', async () => {
    expect(bitsPerByte(8 * Math.LN2, 4)).toBeCloseTo(2, 12);
    const texts = ['ab', 'cdé'];
    expect(Array.from(evalStream(BYTES, texts))).toEqual([256, 97, 98, 256, 99, 100, 0xc3, 0xa9, 256]);
    const half = async (batch: { B: number; T: number }): Promise<Float32Array> => new Float32Array(batch.B * batch.T).fill(0.5);
    for (const [T, stride] of [[16, 16], [3, 1], [3, 2], [4, 4]] as const) {
      const score = await splitBpb(half, BYTES, texts, T, stride, 2);
      expect(score).toMatchObject({ nats: 4, tokens: 8, bytes: 6 });
      expect(score.bpb).toBeCloseTo(4 / Math.LN2 / 6, 12);
    }
    expect(Array.from(tokenByteLengths(BYTES).subarray(255))).toEqual([1, 0]);
    expect(textBytes(texts)).toBe(6);
  });

  it('of a model whose logits are all zero is targets · ln V / ln 2 / bytes', async () => {
    const params = initParams(CFG, 1);
    params.embed!.fill(0);
    const backend = await referenceEvalBackend(CFG, params);
    const score = await splitBpb((b) => backend.tokenLosses(b), BYTES, TEXTS, 16, 8, 4);
    const targets = evalStream(BYTES, TEXTS).length - 1;
    expect(score.tokens).toBe(targets);
    expect(score.bpb).toBeCloseTo((targets * Math.log(257)) / Math.LN2 / textBytes(TEXTS), 5);
  });

  it('scores every target of the stream exactly once, after at least T − stride tokens of context', () => {
    for (const n of [2, 3, 17, 100]) {
      for (const [T, stride] of [[16, 16], [16, 8], [16, 5], [1, 1]] as const) {
        const { length, windows } = stridedWindows(n, T, stride);
        const seen = new Int32Array(n - 1);
        for (const [i, { start, scoreFrom }] of windows.entries()) {
          expect(start + length).toBeLessThanOrEqual(n - 1);
          if (i > 0) expect(scoreFrom).toBeGreaterThanOrEqual(length - stride);
          for (let t = scoreFrom; t < length; t++) seen[start + t]!++;
        }
        expect(Array.from(seen), `${n} ${T} ${stride}`).toEqual(new Array(n - 1).fill(1));
      }
    }
  });
});

describe('evaluation backends', () => {
  const params = initParams(CFG, 2);
  const rng = new Rng(3);
  const stream = Int32Array.from({ length: 400 }, () => rng.nextUint32() % 257);
  const batch = sampleBatch(stream, 3, 16, 1, 0);

  it('the reference one matches forward; the ONNX one matches it, with and without static masks', async () => {
    const reference = await referenceEvalBackend(CFG, params);
    const expected = forward(params, CFG, batch.inputs, batch.targets, 3, 16).losses;
    expect(await reference.tokenLosses(batch)).toEqual(expected);
    const onnx = await evalBackend('ort')(CFG, params);
    const close = (a: Float32Array, b: Float32Array): void => a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 4));
    close(await onnx.tokenLosses(batch), expected);
    const allowed = [[0, 3], [1, 2, 3]];
    close(await onnx.tokenLosses(batch, allowed), await reference.tokenLosses(batch, allowed));
    await onnx.dispose();
  });

  it('static-prompt with every expert allowed is dynamic routing; with fewer it costs', async () => {
    const backend = await referenceEvalBackend(CFG, params);
    const windows = [0, 1, 2].map((b) => ({ start: b * 16, scoreFrom: b * 4 }));
    const all = await staticPromptLosses(params, CFG, 4, backend)(batch, windows);
    expect(all).toEqual(await backend.tokenLosses(batch));
    const two = await staticPromptLosses(params, CFG, 2, backend)(batch, windows);
    expect(two).not.toEqual(all);
  });

  it("budgets in the ONNX graph score each window as static-prompt routing from the window's context does", async () => {
    const cfg: ModelConfig = { ...CFG, nExperts: 6, sequenceBudgets: { localityLossCoef: 0.01 } };
    const v2 = initParams(cfg, 4);
    for (const t of Object.values(v2)) for (let i = 0; i < t.length; i++) t[i]! *= 10;
    const windows = [0, 1, 2].map((b) => ({ start: b * 16, scoreFrom: b * 4 }));
    const onnx = await evalBackend('ort')(cfg, v2);
    const reference = await referenceEvalBackend(cfg, v2);
    for (const m of [2, 3]) {
      const expected = await staticPromptLosses(v2, cfg, m, reference)(batch, windows);
      (await budgetLosses(m, onnx)(batch, windows)).forEach((x, i) => expect(Math.abs(x - expected[i]!)).toBeLessThanOrEqual(1e-5 * Math.abs(expected[i]!)));
    }
    await onnx.dispose();
  });

  it('expert share counts the distinct experts prompts and answers are routed to, as a share of all', () => {
    const tokenizer = trainTokenizer(TEXTS, 257);
    const prompts = ['Call me', 'The whale'];
    const dynamic = expertShare(params, CFG, tokenizer, { mode: 'dynamic' }, prompts, 6);
    expect(dynamic.share).toBeCloseTo(dynamic.experts / (CFG.nLayers * CFG.nExperts), 12);
    expect(dynamic.experts).toBeGreaterThan(CFG.nLayers * CFG.topK);
    expect(expertShare(params, CFG, tokenizer, { mode: 'static-prompt', expertsPerLayer: 2 }, prompts, 6)).toEqual({ experts: 4, share: 0.5 });
  });

  it('int8 experts change only the expert weights, each by at most half a quantization step', () => {
    const q = withInt8Experts(params, CFG);
    const { w1 } = expertTensorNames(1, 2);
    for (const [name, t] of Object.entries(params)) {
      if (!name.includes('.experts.')) expect(q[name]).toBe(t);
      else expect(q[name]).not.toEqual(t);
    }
    const row = params[w1]!.subarray(0, 16);
    const step = Math.max(...row.map(Math.abs)) / 127;
    q[w1]!.subarray(0, 16).forEach((x, i) => expect(Math.abs(x - row[i]!)).toBeLessThanOrEqual(step / 2 + 1e-9));
  });
});

describe('the learning-rate schedule and the window sampler', () => {
  it('warms up linearly, then decays along a cosine to 10% of the peak', () => {
    const s = { peak: 1, warmupSteps: 4, totalSteps: 104, finalFraction: 0.1 };
    expect([0, 1, 3].map((t) => learningRate(s, t))).toEqual([0.25, 0.5, 1]);
    expect(learningRate(s, 4)).toBe(1);
    expect(learningRate(s, 54)).toBeCloseTo(0.55, 12);
    expect(learningRate(s, 104)).toBeCloseTo(0.1, 12);
  });

  it('draws windows from (seed, step) alone, with targets one token on', () => {
    const stream = Int32Array.from({ length: 1000 }, (_, i) => i);
    const a = sampleBatch(stream, 4, 8, 5, 17);
    expect(sampleBatch(stream, 4, 8, 5, 17)).toEqual(a);
    expect(sampleBatch(stream, 4, 8, 5, 18).inputs).not.toEqual(a.inputs);
    expect(sampleBatch(stream, 4, 8, 6, 17).inputs).not.toEqual(a.inputs);
    expect(Array.from(a.targets)).toEqual(Array.from(a.inputs, (x) => x + 1));
  });
});

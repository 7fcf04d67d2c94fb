/** Bad input fails fast with an Error that names the problem. */
import { describe, expect, it } from 'vitest';
import { type ModelConfig, decodeStep, forward, initParams, prefill, validateConfig } from '../src/reference/index.ts';

const CFG: ModelConfig = { vocabSize: 16, dModel: 8, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 12, contextLength: 6, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const PARAMS = initParams(CFG, 3);
const TOKENS = [1, 2, 3];

describe('config', () => {
  it('names the offending field', () => {
    expect(() => validateConfig({ ...CFG, dModel: 10, nHeads: 3 })).toThrow('config.dModel (10) must be divisible by config.nHeads (3)');
    expect(() => validateConfig({ ...CFG, dModel: 6, nHeads: 2 })).toThrow('head dimension dModel / nHeads = 3 must be even');
    expect(() => validateConfig({ ...CFG, topK: 5 })).toThrow('config.topK (5) cannot exceed config.nExperts (4)');
    expect(() => validateConfig({ ...CFG, nLayers: 1.5 })).toThrow('config.nLayers must be a positive integer, got 1.5');
    expect(() => validateConfig({ ...CFG, normEps: 0 })).toThrow('config.normEps must be positive');
    expect(() => forward(PARAMS, { ...CFG, vocabSize: 0 }, TOKENS, TOKENS, 1, 3)).toThrow('config.vocabSize must be a positive integer');
  });
});

describe('parameters', () => {
  const cases: [string, Record<string, Float32Array>, string][] = [
    ['wrong shape', { ...PARAMS, 'layers.1.wk': new Float32Array(63) }, 'parameter "layers.1.wk" has 63 elements but its shape [8, 8] needs 64'],
    ['missing', Object.fromEntries(Object.entries(PARAMS).filter(([k]) => k !== 'layers.0.ffn_norm')), 'missing parameter "layers.0.ffn_norm" of shape [8]'],
    ['unknown', { ...PARAMS, 'layers.0.bias': new Float32Array(8) }, 'unexpected parameter "layers.0.bias"'],
  ];
  for (const [what, params, message] of cases) {
    it(`rejects a ${what} tensor in training and in inference`, () => {
      expect(() => forward(params, CFG, TOKENS, TOKENS, 1, 3)).toThrow(message);
      expect(() => prefill(params, CFG, TOKENS)).toThrow(message);
    });
  }

  it('requires every expert for training', () => {
    const params = Object.fromEntries(Object.entries(PARAMS).filter(([k]) => !k.startsWith('layers.1.experts.2.')));
    expect(() => forward(params, CFG, TOKENS, TOKENS, 1, 3)).toThrow('missing parameter "layers.1.experts.2.w1" of shape [12, 8]');
  });

  it('rejects mixed float32 and float64 tensors', () => {
    const params: Record<string, Float32Array | Float64Array> = { ...PARAMS, 'layers.0.wq': new Float64Array(64) };
    expect(() => forward(params, CFG, TOKENS, TOKENS, 1, 3)).toThrow('parameter "layers.0.wq" is a Float64Array but embed is a Float32Array');
  });
});

describe('tokens', () => {
  it('rejects ids outside the vocabulary', () => {
    expect(() => forward(PARAMS, CFG, [1, 16, 2], TOKENS, 1, 3)).toThrow('inputs[1] = 16 is not a token id in [0, 16)');
    expect(() => forward(PARAMS, CFG, TOKENS, [1, 2, -1], 1, 3)).toThrow('targets[2] = -1 is not a token id in [0, 16)');
    expect(() => forward(PARAMS, CFG, [1, 2.5, 3], TOKENS, 1, 3)).toThrow('inputs[1] = 2.5 is not a token id');
    expect(() => prefill(PARAMS, CFG, [0, 99])).toThrow('tokens[1] = 99 is not a token id in [0, 16)');
    const { state } = prefill(PARAMS, CFG, TOKENS);
    expect(() => decodeStep(state, 16)).toThrow('token[0] = 16 is not a token id in [0, 16)');
    expect(state.pos).toBe(3);
  });

  it('rejects sequences longer than contextLength', () => {
    const long = [1, 2, 3, 4, 5, 6, 7];
    expect(() => forward(PARAMS, CFG, long, long, 1, 7)).toThrow('sequence length T = 7 exceeds contextLength 6');
    expect(() => prefill(PARAMS, CFG, long)).toThrow('prompt of 7 tokens exceeds contextLength 6');
    const { state } = prefill(PARAMS, CFG, long.slice(0, 6));
    expect(() => decodeStep(state, 1)).toThrow('cannot decode past contextLength 6');
  });

  it('rejects a batch whose size does not match B · T, and an empty prompt', () => {
    expect(() => forward(PARAMS, CFG, TOKENS, TOKENS, 2, 3)).toThrow('inputs has 3 tokens, expected 6');
    expect(() => forward(PARAMS, CFG, TOKENS, TOKENS, 1, 0)).toThrow('B and T must be positive integers, got B = 1, T = 0');
    expect(() => prefill(PARAMS, CFG, [])).toThrow('prefill needs at least one token');
  });
});

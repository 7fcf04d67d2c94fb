/** Bad inputs to the ONNX runner fail with an Error that names the problem, before ONNX Runtime runs. */
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxModel } from '../src/onnx/index.ts';
import { type ModelConfig, initParams } from '../src/reference/index.ts';

const CFG: ModelConfig = { vocabSize: 20, dModel: 8, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 6, contextLength: 8, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const PARAMS = initParams(CFG, 1);
const BATCH = { tokens: [1, 2, 3, 4, 5, 6], targets: [2, 3, 4, 5, 6, 7], B: 2, T: 3 };

const model = OnnxModel.create(CFG);
afterAll(() => model.dispose());

describe('ONNX runner input validation', () => {
  it('rejects a wrongly sized, missing, unknown or float64 parameter', async () => {
    await expect(model.forward({ ...PARAMS, 'layers.1.wq': new Float32Array(10) }, BATCH)).rejects.toThrow('parameter "layers.1.wq" has 10 elements but its shape [8, 8] needs 64');
    const { final_norm: _, ...missing } = PARAMS;
    await expect(model.forward(missing, BATCH)).rejects.toThrow('missing parameter "final_norm" of shape [8]');
    await expect(model.forward({ ...PARAMS, 'layers.2.wq': new Float32Array(64) }, BATCH)).rejects.toThrow('unexpected parameter "layers.2.wq"');
    const float64 = Object.fromEntries(Object.entries(PARAMS).map(([k, v]) => [k, Float64Array.from(v)]));
    await expect(model.forward(float64, BATCH)).rejects.toThrow('parameters must be Float32Arrays');
  });

  it('rejects out-of-range or non-integer token ids, wrong batch sizes and sequences longer than the context', async () => {
    await expect(model.forward(PARAMS, { ...BATCH, tokens: [1, 2, 3, 4, 5, 20] })).rejects.toThrow('tokens[5] = 20 is not a token id in [0, 20)');
    await expect(model.forward(PARAMS, { ...BATCH, targets: [1, 2, -1, 4, 5, 6] })).rejects.toThrow('targets[2] = -1 is not a token id in [0, 20)');
    await expect(model.forward(PARAMS, { ...BATCH, tokens: [1, 2, 3, 4, 5, 1.5] })).rejects.toThrow('tokens[5] = 1.5 is not a token id');
    await expect(model.forward(PARAMS, { ...BATCH, B: 3 })).rejects.toThrow('tokens has 6 tokens, expected 9');
    const long = Array.from({ length: 9 }, () => 1);
    await expect(model.forward(PARAMS, { tokens: long, targets: long, B: 1, T: 9 })).rejects.toThrow('sequence length T = 9 exceeds contextLength 8');
  });

  it('rejects expert masks that leave fewer than topK experts, name unknown experts or miss layers', async () => {
    await expect(model.forward(PARAMS, BATCH, [null, [2]])).rejects.toThrow('layer 1: 1 allowed experts but every token needs topK = 2');
    await expect(model.forward(PARAMS, BATCH, [[0, 4], null])).rejects.toThrow('layer 0: allowed expert 4 is not in [0, 4)');
    await expect(model.forward(PARAMS, BATCH, [null])).rejects.toThrow('expert masks cover 1 layers, the model has 2');
  });

  it('rejects training an unknown parameter or at a learning rate that is not a finite number', async () => {
    expect(() => model.createTrainState(PARAMS, { trainable: ['layers.0.experts.9.w1'] })).toThrow('cannot train "layers.0.experts.9.w1": no such parameter');
    const state = model.createTrainState(initParams(CFG, 2));
    await expect(model.trainStep(state, BATCH, Number.NaN)).rejects.toThrow('learning rate must be a finite number, got NaN');
    expect(state.step).toBe(0);
  });

  it('refuses to run after dispose', async () => {
    const short = OnnxModel.create(CFG);
    await short.forward(PARAMS, BATCH);
    await short.dispose();
    await expect(short.forward(PARAMS, BATCH)).rejects.toThrow('this OnnxModel has been disposed');
  });
});

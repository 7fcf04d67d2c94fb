import { type TensorMap, toF16 } from '@blyan/block';
import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import { type ModelConfig, type ParamMap, argmax, backward, decodeStep, expertTensorNames, forward, prefill } from '@blyan/model';
import { Rng, collect, expectClose, f16Device, randomTokens, relativeError } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

const ODD: ModelConfig = { vocabSize: 37, dModel: 12, nLayers: 3, nHeads: 2, nExperts: 5, topK: 2, dFF: 10, contextLength: 20, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.05 };

/**
 * The engine at f16 and f32 on lavapipe (the only adapter in this file: a SwiftShader device in
 * the same process slowed these tests about 40-fold).
 *
 * Bounds of a whole f16 model against the f32 reference (relative error, max |a − b| / max |b|):
 * the logits of every step under 5e-3 (measured: 4.1e-4 tiny, 7.5e-4 odd sizes) and greedy top-1
 * agreement on every step (each step's reference logits are computed on the tokens the GPU chose,
 * so one disagreement cannot cascade); training: loss and the trained expert's gradients under
 * 5e-3 (measured: 2.5e-6 and 8.4e-4). At f32 on lavapipe: 1e-4 and every token, as on SwiftShader.
 */
const F16_MODEL_TOLERANCE = 5e-3;

/**
 * Greedy decoding on the engine, one token per generate call, with the reference fed the same
 * tokens: the largest relative error of the logits each token was sampled from, and how many of
 * the GPU's tokens are the reference's argmax.
 */
async function decodeAgainstReference(engine: BlyanEngine, params: ParamMap, cfg: ModelConfig, prompt: number[]) {
  const ref = prefill(params, cfg, prompt);
  await engine.prefill(prompt);
  let logits = ref.logits;
  let [worst, agree] = [0, 0];
  const steps = cfg.contextLength - prompt.length;
  for (let i = 0; i < steps; i++) {
    const [token] = await collect(engine.generate({ maxTokens: 1, sampling: { temperature: 0 } }));
    worst = Math.max(worst, relativeError(await engine.readLogits(), logits));
    if (token === argmax(logits)) agree++;
    if (i + 1 < steps) logits = decodeStep(ref.state, token!);
  }
  return { worst, agree, steps };
}


describe('precision follows the adapter', () => {
  it('is f32 on lavapipe (shader-f16, but a fallback adapter) unless f16 is asked for', async () => {
    const device = await f16Device();
    expect(device.adapterInfo.isFallbackAdapter).toBe(true);
    const f32 = await BlyanEngine.create(device, TINY);
    const f16 = await BlyanEngine.create(device, TINY, { precision: 'f16' });
    expect([f16.precision, f32.precision]).toEqual(['f16', 'f32']);
    f16.destroy();
    f32.destroy();
  });
});

describe('engine on lavapipe: f16 and f32 decoding against the CPU reference', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));

  for (const [cfg, name] of [[TINY, 'tiny'], [ODD, 'odd sizes']] as const) {
    for (const precision of ['f16', 'f32'] as const) {
      it(`${name} at ${precision}: logits at every step and greedy top-1 agreement`, async () => {
        const device = await f16Device();
        const { params, tensors } = randomModel(cfg, 3);
        const engine = await BlyanEngine.create(device, cfg, { precision, decode: 'fused' });
        engines.push(engine);
        engine.load(tensors);
        const prompt = [5, 17, 3, 3, 28, 0, 9].map((t) => t % cfg.vocabSize);
        const { worst, agree, steps } = await decodeAgainstReference(engine, params, cfg, prompt);
        expect(worst, 'largest relative error of the logits').toBeLessThan(precision === 'f16' ? F16_MODEL_TOLERANCE : 1e-4);
        expect(agree, `greedy tokens equal to the reference's argmax, of ${steps}`).toBe(steps);
      });
    }
  }

  for (const precision of ['f16', 'f32'] as const) {
    it(`a 40-token prompt at ${precision} through 16-row blocks in 16-thread workgroups: logits at every step and greedy top-1 agreement`, async () => {
      const device = await f16Device();
      const cfg: ModelConfig = { ...TINY, contextLength: 56 };
      const { params, tensors } = randomModel(cfg, 11);
      const engine = await BlyanEngine.create(device, cfg, { precision, prompt: { rows: 16, threads: 16 } });
      engines.push(engine);
      engine.load(tensors);
      const prompt = Array.from({ length: 40 }, (_, i) => (i * 29 + 7) % cfg.vocabSize);
      const { worst, agree, steps } = await decodeAgainstReference(engine, params, cfg, prompt);
      expect(worst, 'largest relative error of the logits').toBeLessThan(precision === 'f16' ? F16_MODEL_TOLERANCE : 1e-4);
      expect(agree, `greedy tokens equal to the reference's argmax, of ${steps}`).toBe(steps);
    });
  }

  it('takes f16 tensors as they come: the same logits as f32 tensors rounded at load', async () => {
    const device = await f16Device();
    const { tensors } = randomModel(TINY, 8);
    const halved: TensorMap = {};
    for (const [name, t] of Object.entries(tensors)) halved[name] = /^(embed|layers\.\d+\.w[qkvo])$/.test(name) && t.dtype === 'f32' ? toF16(t.data, t.shape) : t;
    const logits: Float32Array[] = [];
    for (const set of [tensors, halved]) {
      const engine = await BlyanEngine.create(device, TINY, { precision: 'f16', decode: 'fused' });
      engines.push(engine);
      engine.load(set);
      await engine.prefill([1, 2, 3, 4]);
      logits.push(await engine.readLogits());
    }
    expect(logits[1]).toEqual(logits[0]);
    const f32 = await BlyanEngine.create(device, TINY, { precision: 'f32' });
    engines.push(f32);
    expect(() => f32.load(halved)).toThrow(/is f16; the engine takes f32 \(f16 matrices need an engine with precision f16\)/);
  });

  it('trains one expert at f16: loss and gradients against the f32 reference', async () => {
    const cfg = ODD;
    const [B, T, layer] = [3, 5, 1];
    const device = await f16Device();
    const { params, tensors } = randomModel(cfg, 21, 4);
    const rng = new Rng(5);
    const inputs = Array.from(randomTokens(rng, B * T, cfg.vocabSize));
    const targets = Array.from(randomTokens(rng, B * T, cfg.vocabSize));
    const acts = forward(params, cfg, inputs, targets, B, T);
    const grads = backward(params, cfg, acts);
    const expert = acts.layers[layer]!.acts.moe.groups.findIndex((g) => g.tokens.length > 0);
    const names = expertTensorNames(layer, expert);
    const engine = await BlyanEngine.create(device, cfg, { precision: 'f16', decode: 'fused' });
    engines.push(engine);
    engine.load(tensors);
    const trainer = await engine.createTrainer({ layer, expert, batch: B, seqLen: T, adamw: { lr: 1e-3 } });
    const loss = await trainer.microStep(inputs, targets);
    expectClose([loss.ce, loss.aux, loss.loss], [acts.ce, acts.aux, acts.loss], 'loss', F16_MODEL_TOLERANCE);
    const g = await trainer.gradients();
    expectClose(g.w1, grads[names.w1]!, 'dw1', F16_MODEL_TOLERANCE);
    expectClose(g.w3, grads[names.w3]!, 'dw3', F16_MODEL_TOLERANCE);
    expectClose(g.w2, grads[names.w2]!, 'dw2', F16_MODEL_TOLERANCE);
  });
});

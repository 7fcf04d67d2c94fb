import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import { type AdamWOptions, type ModelConfig, type ParamMap, Rng, adamwStep, backward, createAdamW, expertTensorNames, forward } from '@blyan/model';
import { expectClose, gpuDevice, randomTokens } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

const ODD: ModelConfig = { vocabSize: 37, dModel: 12, nLayers: 3, nHeads: 2, nExperts: 5, topK: 2, dFF: 10, contextLength: 20, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.05 };
const ADAMW: AdamWOptions = { lr: 1e-3, weightDecay: 0.1, maxGradNorm: 1 };

function batch(cfg: ModelConfig, B: number, T: number, seed: number) {
  const rng = new Rng(seed);
  return { inputs: Array.from(randomTokens(rng, B * T, cfg.vocabSize)), targets: Array.from(randomTokens(rng, B * T, cfg.vocabSize)) };
}

/** The reference's loss and gradients for one batch (its activations say which experts got tokens). */
function reference(params: ParamMap, cfg: ModelConfig, b: { inputs: number[]; targets: number[] }, B: number, T: number) {
  const acts = forward(params, cfg, b.inputs, b.targets, B, T);
  return { acts, grads: backward(params, cfg, acts) };
}

describe('training one expert matches the CPU reference', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));

  const cases = [
    { cfg: TINY, layer: 0, B: 2, T: 6 },
    { cfg: TINY, layer: 1, B: 1, T: 9 },
    { cfg: ODD, layer: 1, B: 3, T: 5 },
  ];
  for (const { cfg, layer, B, T } of cases) {
    it(`d ${cfg.dModel}, ${cfg.nLayers} layers, expert in layer ${layer}, batch ${B}×${T}: loss, gradients, AdamW update, delta`, async () => {
      const device = await gpuDevice();
      const { params, tensors } = randomModel(cfg, 21, 4);
      const b = batch(cfg, B, T, 5);
      const { acts, grads } = reference(params, cfg, b, B, T);
      const expert = acts.layers[layer]!.acts.moe.groups.findIndex((g) => g.tokens.length > 0);
      const names = expertTensorNames(layer, expert);
      const engine = await BlyanEngine.create(device, cfg);
      engines.push(engine);
      engine.load(tensors);
      const trainer = await engine.createTrainer({ layer, expert, batch: B, seqLen: T, adamw: ADAMW });
      const loss = await trainer.microStep(b.inputs, b.targets);
      expectClose([loss.ce, loss.aux, loss.loss], [acts.ce, acts.aux, acts.loss], 'loss');
      const g = await trainer.gradients();
      expectClose(g.w1, grads[names.w1]!, 'dw1');
      expectClose(g.w3, grads[names.w3]!, 'dw3');
      expectClose(g.w2, grads[names.w2]!, 'dw2');
      const start = { w1: params[names.w1]!.slice(), w3: params[names.w3]!.slice(), w2: params[names.w2]!.slice() };
      const opt = createAdamW(params, cfg, Object.values(names));
      const { gradNorm } = adamwStep(opt, params, grads, ADAMW);
      expectClose([(await trainer.step()).gradNorm], [gradNorm], 'gradient norm');
      const now = await trainer.current();
      expectClose(now.w1, params[names.w1]!, 'updated w1');
      expectClose(now.w3, params[names.w3]!, 'updated w3');
      expectClose(now.w2, params[names.w2]!, 'updated w2');
      const delta = await trainer.exportDelta();
      expectClose(delta.w2, params[names.w2]!.map((v, i) => v - start.w2[i]!), 'delta w2', 1e-3);
      expect(engine.counters.readbacks).toBeGreaterThan(0);
    });
  }

  it('accumulates gradients over micro-steps and steps on their mean, from its own copy of the expert', async () => {
    const cfg = TINY;
    const [B, T, layer] = [2, 5, 0];
    const device = await gpuDevice();
    const { params, tensors } = randomModel(cfg, 22, 4);
    const b1 = batch(cfg, B, T, 1);
    const b2 = batch(cfg, B, T, 2);
    const r1 = reference(params, cfg, b1, B, T);
    const r2 = reference(params, cfg, b2, B, T);
    const expert = r1.acts.layers[layer]!.acts.moe.groups.findIndex((g) => g.tokens.length > 0);
    const names = expertTensorNames(layer, expert);
    const engine = await BlyanEngine.create(device, cfg);
    engines.push(engine);
    engine.load(tensors);
    const trainer = await engine.createTrainer({ layer, expert, batch: B, seqLen: T, adamw: ADAMW });
    engine.evictExpert(layer, expert);
    await trainer.microStep(b1.inputs, b1.targets);
    await trainer.microStep(b2.inputs, b2.targets);
    const g = await trainer.gradients();
    const sum = (name: string) => r1.grads[name]!.map((v, i) => v + r2.grads[name]![i]!);
    expectClose(g.w1, sum(names.w1), 'accumulated dw1');
    expectClose(g.w2, sum(names.w2), 'accumulated dw2');
    const mean: ParamMap = {};
    for (const name of Object.values(names)) mean[name] = sum(name).map((v) => v / 2);
    adamwStep(createAdamW(params, cfg, Object.values(names)), params, mean, ADAMW);
    await trainer.step();
    const now = await trainer.current();
    expectClose(now.w1, params[names.w1]!, 'updated w1');
    expectClose(now.w2, params[names.w2]!, 'updated w2');
    expectClose((await trainer.gradients()).w1, new Float32Array(now.w1.length), 'gradients cleared');
  });
});

/**
 * A grown model (issue 14: the router normalized over the experts the model had first) on the
 * WebGPU engine against the CPU reference: greedy decoding token for token with the new experts
 * routed to, in both decode passes, under dynamic and budget routing, at f32 and at f16 storage
 * (lavapipe); and training a new expert, whose gradient passes the next layer's router backward.
 */
import { type AdamWOptions, type Routing, Rng, backward, expertTensorNames, expertsUsed, forward, greedyDecode } from '@blyan/model';
import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import { collect, expectClose, f16Device, gpuDevice, randomTokens } from './gpu.ts';
import { TINY, grownRandomModel } from './model.ts';

const SOURCES = [[1, 3], [0, 2]];
const PROMPT = [5, 17, 3, 3, 28, 0, 9];
/** A prompt whose 3-expert sets differ when the router's softmax runs over all experts (the test below shows it). */
const BUDGET_PROMPT = [61, 43, 48, 48];
const ADAMW: AdamWOptions = { lr: 1e-3, weightDecay: 0.1, maxGradNorm: 1 };


describe('a grown model on WebGPU matches the CPU reference', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));
  const model = grownRandomModel(TINY, 3, SOURCES);
  const budget = { mode: 'static-prompt', expertsPerLayer: 3 } as const;

  it('the budget prompt tells the grown router from a softmax over all experts', () => {
    const { baseExperts: _, ...plain } = model.config;
    const count = TINY.contextLength - BUDGET_PROMPT.length;
    expect(greedyDecode(model.params, plain, BUDGET_PROMPT, count, budget).tokens).not.toEqual(greedyDecode(model.params, model.config, BUDGET_PROMPT, count, budget).tokens);
  });

  const cases = [
    ['fused', { mode: 'dynamic' }, PROMPT, 'f32', gpuDevice],
    ['per-operation', { mode: 'dynamic' }, PROMPT, 'f32', gpuDevice],
    ['fused', budget, BUDGET_PROMPT, 'f32', gpuDevice],
    ['per-operation', budget, BUDGET_PROMPT, 'f32', gpuDevice],
    ['fused', { mode: 'dynamic' }, PROMPT, 'f16', f16Device],
  ] as const satisfies readonly (readonly ['fused' | 'per-operation', Routing, readonly number[], Precision, () => Promise<GPUDevice>])[];
  for (const [decode, routing, prompt, precision, device] of cases) {
    it(`${decode} decode pass, ${routing.mode} routing, ${precision}: greedy tokens equal, new experts routed to`, async () => {
      const count = TINY.contextLength - prompt.length;
      const expected = greedyDecode(model.params, model.config, prompt, count, routing);
      expect(expertsUsed(expected.state).every((layer) => layer.some((e) => e >= TINY.nExperts)), 'every layer routes to a new expert').toBe(true);
      const engine = await BlyanEngine.create(await device(), model.config, { decode, precision });
      engines.push(engine);
      engine.load(model.tensors);
      await engine.prefill(prompt, routing);
      if (precision === 'f32') expectClose(await engine.readLogits(), expected.prefillLogits, 'prefill logits');
      expect(await collect(engine.generate({ maxTokens: count, sampling: { temperature: 0 } }))).toEqual(expected.tokens);
    });
  }

  it('trains a new expert of layer 0: loss and gradients as the reference', async () => {
    const [B, T, layer] = [2, 6, 0];
    const rng = new Rng(5);
    const inputs = Array.from(randomTokens(rng, B * T, TINY.vocabSize));
    const targets = Array.from(randomTokens(rng, B * T, TINY.vocabSize));
    const acts = forward(model.params, model.config, inputs, targets, B, T);
    const grads = backward(model.params, model.config, acts);
    const expert = acts.layers[layer]!.acts.moe.groups.findIndex((g, e) => e >= TINY.nExperts && g.tokens.length > 0);
    expect(expert, 'a new expert of layer 0 gets tokens').toBeGreaterThanOrEqual(TINY.nExperts);
    expect([...acts.layers[1]!.acts.moe.experts].some((e) => e >= TINY.nExperts), 'layer 1 routes to a new expert').toBe(true);
    const engine = await BlyanEngine.create(await gpuDevice(), model.config);
    engines.push(engine);
    engine.load(model.tensors);
    const trainer = await engine.createTrainer({ layer, expert, batch: B, seqLen: T, adamw: ADAMW });
    const loss = await trainer.microStep(inputs, targets);
    expectClose([loss.ce, loss.aux, loss.loss], [acts.ce, acts.aux, acts.loss], 'loss');
    const names = expertTensorNames(layer, expert);
    const g = await trainer.gradients();
    expectClose(g.w1, grads[names.w1]!, 'dw1');
    expectClose(g.w2, grads[names.w2]!, 'dw2');
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import type { DecodePass } from '../src/inference.ts';
import type { DispatchCounts } from '../src/kernel.ts';
import { gpuDevice, randomTokens, Rng } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

/** Dispatches, bind-group changes and bound bytes encoded by `run`, per `per`. */
async function counted(engine: BlyanEngine, per: number, run: () => Promise<unknown>): Promise<DispatchCounts> {
  const before = { ...engine.counters };
  await run();
  const c = engine.counters;
  return {
    dispatches: (c.dispatches - before.dispatches) / per,
    bindGroups: (c.bindGroups - before.bindGroups) / per,
    bytesRead: (c.bytesRead - before.bytesRead) / per,
    bytesWritten: (c.bytesWritten - before.bytesWritten) / per,
  };
}

/**
 * The engine's work per decode token and per training micro-step on the TINY model (2 layers),
 * pinned: a change in these numbers is a change in what the GPU is asked to do, and shows here.
 */
describe('dispatch counts', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));

  /** A TINY engine after a prompt and one sampled token: each later token is one decode step. */
  async function decoding(decode?: DecodePass): Promise<BlyanEngine> {
    const engine = await BlyanEngine.create(await gpuDevice(), TINY, { precision: 'f32', ...(decode && { decode }) });
    engines.push(engine);
    engine.load(randomModel(TINY, 3).tensors);
    await engine.prefill([1, 2, 3]);
    for await (const _ of engine.generate({ maxTokens: 1, sampling: { temperature: 0 } }));
    return engine;
  }

  const perToken = (engine: BlyanEngine, tokens = 4) =>
    counted(engine, tokens, async () => {
      for await (const _ of engine.generate({ maxTokens: tokens, sampling: { temperature: 0 } }));
    });

  it('per decode token: three fused dispatches per layer, thirteen per operation', async () => {
    // Plus the embedding, the final norm, the logits and the sampler: 3 · 2 + 4 and 13 · 2 + 4.
    expect(await perToken(await decoding('fused'))).toEqual({ dispatches: 3 * TINY.nLayers + 4, bindGroups: 3 * TINY.nLayers + 4, bytesRead: 138720, bytesWritten: 38096 });
    const perOperation = { dispatches: 13 * TINY.nLayers + 4, bindGroups: 13 * TINY.nLayers + 4, bytesRead: 256192, bytesWritten: 101840 };
    expect(await perToken(await decoding('per-operation'))).toEqual(perOperation);
    // SwiftShader is a fallback adapter: the default there is the per-operation pass.
    expect(await perToken(await decoding())).toEqual(perOperation);
  });

  it('per training micro-step', async () => {
    const engine = await decoding('fused');
    const rng = new Rng(5);
    const [B, T] = [2, 6];
    const trainer = await engine.createTrainer({ layer: 1, expert: 0, batch: B, seqLen: T, adamw: { lr: 1e-3 } });
    const inputs = Array.from(randomTokens(rng, B * T, TINY.vocabSize));
    const targets = Array.from(randomTokens(rng, B * T, TINY.vocabSize));
    const micro = await counted(engine, 1, () => trainer.microStep(inputs, targets));
    expect(micro).toEqual({ dispatches: 40, bindGroups: 40, bytesRead: 324640, bytesWritten: 164944 });
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import type { DecodePass } from '../src/inference.ts';
import type { DispatchCounts } from '../src/kernel.ts';
import { activeWeightBytes } from '../src/weights.ts';
import { gpuDevice, randomTokens, Rng } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

/** Dispatches and bytes read and written encoded by `run`, per `per`. */
async function counted(engine: BlyanEngine, per: number, run: () => Promise<unknown>): Promise<DispatchCounts> {
  const before = { ...engine.counters };
  await run();
  const c = engine.counters;
  return {
    dispatches: (c.dispatches - before.dispatches) / per,
    bytesRead: (c.bytesRead - before.bytesRead) / per,
    bytesWritten: (c.bytesWritten - before.bytesWritten) / per,
  };
}

/**
 * The engine's work per decode token, per prompt and per training micro-step on the TINY model
 * (2 layers, f32): dispatch counts pinned, bytes read checked against what the model's shapes say
 * a token must read.
 */
describe('dispatch and byte counts', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));

  /** A TINY engine after a 3-token prompt and one sampled token: each later token is one decode step. */
  async function decoding(decode?: DecodePass): Promise<BlyanEngine> {
    const engine = await BlyanEngine.create(await gpuDevice(), TINY, { precision: 'f32', ...(decode && { decode }) });
    engines.push(engine);
    engine.load(randomModel(TINY, 3).tensors);
    await engine.prefill([1, 2, 3]);
    for await (const _ of engine.generate({ maxTokens: 1, sampling: { temperature: 0 } }));
    return engine;
  }

  const perToken = (engine: BlyanEngine, tokens = 1) =>
    counted(engine, tokens, async () => {
      for await (const _ of engine.generate({ maxTokens: tokens, sampling: { temperature: 0 } }));
    });

  /** Bytes one more cached row adds to a token's reads: a key and a value row per layer. */
  const kvRow = 2 * TINY.nLayers * TINY.dModel * 4;
  const active = activeWeightBytes(TINY, 'f32');

  it.each([
    ['fused', 3],
    ['per-operation', 13],
  ] as const)('per decode token, %s: %i dispatches per layer; bytes read within 1.5× the active weights, growing by one KV row per token', async (pass, perLayer) => {
    const engine = await decoding(pass);
    const first = await perToken(engine);
    const second = await perToken(engine);
    // Plus the embedding, the final norm, the logits and the sampler.
    expect(first.dispatches).toBe(perLayer * TINY.nLayers + 4);
    expect(second.dispatches).toBe(first.dispatches);
    expect(first.bytesRead).toBeGreaterThan(active);
    expect(first.bytesRead).toBeLessThanOrEqual(1.5 * active);
    expect(second.bytesRead - first.bytesRead).toBe(kvRow);
    expect(second.bytesWritten).toBe(first.bytesWritten);
  });

  it('the default pass on SwiftShader (a fallback adapter) is the per-operation one', async () => {
    expect((await perToken(await decoding())).dispatches).toBe(13 * TINY.nLayers + 4);
  });

  it('a prompt is one pass whatever its length: the same dispatches for 4 and 16 tokens', async () => {
    const engine = await decoding('fused');
    const prompt = (n: number) => counted(engine, 1, () => engine.prefill(Array.from({ length: n }, (_, i) => (5 * i) % TINY.vocabSize)));
    const [short, long] = [await prompt(4), await prompt(16)];
    expect(short.dispatches).toBe(13 * TINY.nLayers + 3);
    expect(long.dispatches).toBe(short.dispatches);
    expect(long.bytesRead).toBeGreaterThan(short.bytesRead);
  });

  it('per training micro-step: the same counts every step, the gradient backup copy included', async () => {
    const engine = await decoding('fused');
    const rng = new Rng(5);
    const [B, T] = [2, 6];
    const trainer = await engine.createTrainer({ layer: 1, expert: 0, batch: B, seqLen: T, adamw: { lr: 1e-3 } });
    const batch = () => [Array.from(randomTokens(rng, B * T, TINY.vocabSize)), Array.from(randomTokens(rng, B * T, TINY.vocabSize))] as const;
    const micro = () => counted(engine, 1, () => trainer.microStep(...batch()));
    const [first, second] = [await micro(), await micro()];
    expect(first.dispatches).toBe(40);
    expect(second).toEqual(first);
    expect(first.bytesWritten).toBeGreaterThan(4 * (3 * TINY.dModel * TINY.dFF));
  });
});

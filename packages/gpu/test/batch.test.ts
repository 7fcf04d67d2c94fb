import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import { greedyDecode } from '@blyan/model';
import { f16Device } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const t of it) out.push(t);
  return out;
}

/**
 * Batched decoding against the CPU reference, on lavapipe at both precisions: prompts of different
 * lengths decoded together, each sequence's greedy tokens equal to the reference's for its prompt
 * alone. (At f16 a whole model stays within 5e-3 of the reference's logits, engine-f16.test.ts;
 * these greedy margins are far wider.)
 */
describe.each(['f32', 'f16'] as const)('batched decode at %s', (precision: Precision) => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));
  const { params, tensors } = randomModel(TINY, 8);
  const prompts = [[5, 17, 3], [9, 41, 12, 0, 7], [33, 2, 2, 60, 18, 4, 11]];
  const steps = 6;

  async function engine(): Promise<BlyanEngine> {
    const e = await BlyanEngine.create(await f16Device(), TINY, { precision });
    engines.push(e);
    e.load(tensors);
    return e;
  }

  it('three prompts of different lengths in a batch of four: each sequence’s greedy tokens are the reference’s', async () => {
    const batch = await (await engine()).createBatch(4);
    const steps_ = await collect(batch.generate(prompts, { maxTokens: steps, sampling: { temperature: 0 } }));
    expect(steps_).toHaveLength(steps);
    for (const [r, prompt] of prompts.entries()) {
      expect(steps_.map((tokens) => tokens[r]), `sequence ${r}`).toEqual(greedyDecode(params, TINY, prompt, steps).tokens);
    }
  });

  it('sampling: a one-prompt batch draws as generate does, so it samples the same tokens for the same seed', async () => {
    const e = await engine();
    const sampling = { temperature: 0.9, topP: 0.95 };
    await e.prefill(prompts[1]!);
    const single = await collect(e.generate({ maxTokens: steps, sampling, seed: 3 }));
    const batch = await e.createBatch(2);
    const batched = await collect(batch.generate([prompts[1]!], { maxTokens: steps, sampling, seed: 3 }));
    expect(batched.map(([t]) => t)).toEqual(single);
  });

  it('a step is one submission and the same dispatches whatever the number of sequences', async () => {
    const e = await engine();
    const batch = await e.createBatch(4);
    const perStep = async (n: number) => {
      const it = batch.generate(prompts.slice(0, n), { maxTokens: 3, sampling: { temperature: 0 } });
      await it.next();
      await it.next();
      const before = { ...e.counters };
      await it.next();
      return { dispatches: e.counters.dispatches - before.dispatches, submissions: e.counters.submissions - before.submissions };
    };
    const one = await perStep(1);
    expect(one).toEqual({ dispatches: 13 * TINY.nLayers + 4, submissions: 1 });
    expect(await perStep(3)).toEqual(one);
  });

  it('refuses more prompts than sequences, and a continuation past the context', async () => {
    const batch = await (await engine()).createBatch(2);
    await expect(collect(batch.generate(prompts, { maxTokens: 1 }))).rejects.toThrow(/takes 1 to 2 prompts/);
    await expect(collect(batch.generate([prompts[0]!], { maxTokens: TINY.contextLength }))).rejects.toThrow(/exceed contextLength/);
  });
});

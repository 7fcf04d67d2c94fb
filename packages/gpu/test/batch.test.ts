import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import { type Routing, budgetRouting, greedyDecode } from '@blyan/model';
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
  /**
   * Four prompts, each with its own expert budget: fixed allowed sets, none (every expert), and 2
   * and 3 of the 4 experts per layer chosen from the prompt. Each budgeted prompt's greedy tokens
   * under its budget differ from its tokens under dynamic routing (checked below), so a row that
   * ignored its budget, or took another row's, would fail.
   */
  const budgeted: readonly { prompt: number[]; routing: Routing }[] = [
    { prompt: [5, 17, 3], routing: { mode: 'static', allowed: [[0, 3], [1, 2]] } },
    { prompt: [9, 41, 12, 0, 7], routing: { mode: 'dynamic' } },
    { prompt: [33, 2, 2, 60, 18, 4, 11], routing: budgetRouting(2, TINY) },
    { prompt: [21, 8, 50, 13], routing: budgetRouting(3, TINY) },
  ];

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

  it('four prompts with four different expert budgets in one batch: each sequence’s greedy tokens are the reference’s under its own budget', async () => {
    const expected = budgeted.map(({ prompt, routing }) => greedyDecode(params, TINY, prompt, steps, routing).tokens);
    for (const [r, { prompt, routing }] of budgeted.entries()) {
      if (routing.mode !== 'dynamic') expect(expected[r], `sequence ${r}: its budget changes its tokens`).not.toEqual(greedyDecode(params, TINY, prompt, steps).tokens);
    }
    const batch = await (await engine()).createBatch(4);
    const steps_ = await collect(batch.generate(budgeted.map((b) => b.prompt), { maxTokens: steps, sampling: { temperature: 0 }, routings: budgeted.map((b) => b.routing) }));
    for (const [r] of budgeted.entries()) expect(steps_.map((tokens) => tokens[r]), `sequence ${r}`).toEqual(expected[r]);
  });

  it('refuses a batch with an empty or invalid budget, naming the prompt, before loading any prompt', async () => {
    const e = await engine();
    const batch = await e.createBatch(4);
    const prompts4 = budgeted.map((b) => b.prompt);
    const refused = async (routing: Routing, row = 1) => {
      const routings = budgeted.map((b, r) => (r === row ? routing : b.routing));
      const before = { ...e.counters };
      const error = await collect(batch.generate(prompts4, { maxTokens: 2, routings })).then(() => null, (err: Error) => err.message);
      expect(e.counters, 'nothing submitted').toEqual(before);
      return error;
    };
    expect(await refused({ mode: 'static', allowed: [[], null] })).toMatch(/^prompt 1: layer 0: 0 allowed experts but every token needs topK = 2/);
    expect(await refused({ mode: 'static', allowed: [null, [1]] }, 3)).toMatch(/^prompt 3: layer 1: 1 allowed experts but every token needs topK = 2/);
    expect(await refused({ mode: 'static', allowed: [[0, 4], null] })).toMatch(/^prompt 1: layer 0: allowed expert 4 is not in \[0, 4\)/);
    expect(await refused({ mode: 'static', allowed: [[0, 1]] })).toMatch(/^prompt 1: static routing has 1 allowed sets for 2 layers/);
    expect(await refused({ mode: 'static-prompt', expertsPerLayer: 0 }, 0)).toMatch(/^prompt 0: static-prompt routing: expertsPerLayer must be an integer in \[topK = 2, nExperts = 4\], got 0/);
    expect(await refused({ mode: 'budget' } as unknown as Routing)).toMatch(/^prompt 1: routing mode must be dynamic, static or static-prompt, got "budget"/);
    await expect(collect(batch.generate(prompts4, { maxTokens: 2, routings: budgeted.slice(1).map((b) => b.routing) }))).rejects.toThrow(/4 prompts need 4 routings, got 3/);
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

  it('a step is one submission and the same dispatches whatever the number of sequences and their budgets', async () => {
    const e = await engine();
    const batch = await e.createBatch(4);
    const perStep = async (n: number, routings?: readonly Routing[]) => {
      const it = batch.generate(prompts.slice(0, n), { maxTokens: 3, sampling: { temperature: 0 }, routings });
      await it.next();
      await it.next();
      const before = { ...e.counters };
      await it.next();
      return { dispatches: e.counters.dispatches - before.dispatches, submissions: e.counters.submissions - before.submissions };
    };
    const one = await perStep(1);
    expect(one).toEqual({ dispatches: 13 * TINY.nLayers + 4, submissions: 1 });
    expect(await perStep(3)).toEqual(one);
    expect(await perStep(3, budgeted.slice(0, 3).map((b) => b.routing)), 'with expert budgets').toEqual(one);
  });

  it('refuses more prompts than sequences, and a continuation past the context', async () => {
    const batch = await (await engine()).createBatch(2);
    await expect(collect(batch.generate(prompts, { maxTokens: 1 }))).rejects.toThrow(/takes 1 to 2 prompts/);
    await expect(collect(batch.generate([prompts[0]!], { maxTokens: TINY.contextLength }))).rejects.toThrow(/exceed contextLength/);
  });
});

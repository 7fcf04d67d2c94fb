import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import type { Precision } from '../src/engine.ts';
import { greedyDecode, prefill } from '@blyan/model';
import { expectClose, f16Device } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

/** Logits bound at f16 (engine-f16.test.ts: a whole f16 model against the f32 reference). */
const TOLERANCE: Record<Precision, number> = { f32: 1e-4, f16: 5e-3 };

async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

/**
 * A sequence fed in pieces (prefill, then extend by several tokens in one pass and by one) is the
 * sequence fed at once: the prompt pass at a start position past 0 against the CPU reference, on
 * lavapipe at both precisions.
 */
describe.each(['f32', 'f16'] as const)('extend at %s', (precision) => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));
  const { params, tensors } = randomModel(TINY, 6);
  const prompt = [5, 17, 3, 3, 28, 0, 9, 41, 12];

  async function engine(): Promise<BlyanEngine> {
    const e = await BlyanEngine.create(await f16Device(), TINY, { precision, decode: 'fused' });
    engines.push(e);
    e.load(tensors);
    return e;
  }

  it('prefill, a 5-token extend and a 1-token extend give the whole prompt’s logits and greedy tokens', async () => {
    const e = await engine();
    await e.prefill(prompt.slice(0, 3));
    const before = e.counters.submissions;
    await e.extend(prompt.slice(3, 8));
    expect(e.counters.submissions - before).toBe(1);
    await e.extend(prompt.slice(8));
    expect(e.position).toBe(prompt.length);
    const expected = greedyDecode(params, TINY, prompt, 6);
    expectClose(await e.readLogits(), expected.prefillLogits, 'logits after extend', TOLERANCE[precision]);
    expect(await collect(e.generate({ maxTokens: 6, sampling: { temperature: 0 } }))).toEqual(expected.tokens);
  });

  it('extending after generation feeds the last generated token first', async () => {
    const e = await engine();
    await e.prefill(prompt);
    const generated = await collect(e.generate({ maxTokens: 3, sampling: { temperature: 0 } }));
    const turn = [7, 8];
    await e.extend(turn);
    const whole = [...prompt, ...generated, ...turn];
    expect(e.position).toBe(whole.length);
    expectClose(await e.readLogits(), prefill(params, TINY, whole).logits, 'logits after the turn', TOLERANCE[precision]);
  });

  it('refuses an extend before any prefill, past the context or with a token outside the vocabulary, and changes nothing', async () => {
    const e = await engine();
    await expect(e.extend([1])).rejects.toThrow('extend needs a prefill first');
    await e.prefill(prompt);
    await expect(e.extend(new Array(TINY.contextLength - prompt.length + 1).fill(1))).rejects.toThrow(/exceed contextLength/);
    for await (const _ of e.generate({ maxTokens: 1, sampling: { temperature: 0 } }));
    await expect(e.extend([3, TINY.vocabSize])).rejects.toThrow(`tokens[1] = ${TINY.vocabSize} is not a token id`);
    expect(e.position).toBe(prompt.length);
    await e.extend([3]);
    expect(e.position).toBe(prompt.length + 2);
  });
});

import { greedyDecode } from '@blyan/model';
import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import { GENESIS_V1, PROMPT, genesisModel } from './genesis.ts';
import { gpuDevice } from './gpu.ts';

const TOKENS = 40;

describe('the genesis model on WebGPU', () => {
  let engine: BlyanEngine | undefined;
  afterAll(() => engine?.destroy());

  it('decodes greedily token for token like the CPU reference, from the same int8 expert blocks', async () => {
    const { config, tokenizer, tensors, reference } = genesisModel(GENESIS_V1);
    const prompt = tokenizer.encode(PROMPT);
    const expected = greedyDecode(reference, config, prompt, TOKENS).tokens;
    engine = await BlyanEngine.create(await gpuDevice(), config, { decode: 'fused' });
    engine.load(tensors);
    await engine.prefill(prompt);
    const got: number[] = [];
    for await (const t of engine.generate({ maxTokens: TOKENS, sampling: { temperature: 0 } })) got.push(t);
    expect(tokenizer.decode(got)).toBe(tokenizer.decode(expected));
    expect(got).toEqual(expected);
  });
});

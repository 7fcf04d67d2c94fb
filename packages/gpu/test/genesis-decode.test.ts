import { fileURLToPath } from 'node:url';
import type { TensorMap } from '@blyan/block';
import { type ParamMap, greedyDecode } from '@blyan/model';
import { encodeSlotPayload, slotParams, slotPlan, slotTensors } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import { gpuDevice } from './gpu.ts';

const CHECKPOINT = fileURLToPath(new URL('../../../public/genesis/checkpoint.tensors', import.meta.url));
const TOKENS = 40;

describe('the genesis model on WebGPU', () => {
  let engine: BlyanEngine | undefined;
  afterAll(() => engine?.destroy());

  it('decodes greedily token for token like the CPU reference, from the same int8 expert blocks', async () => {
    const { config, tokenizer, params } = readCheckpoint(CHECKPOINT);
    const tensors: TensorMap = {};
    const reference: ParamMap = {};
    for (const slot of slotPlan(config)) {
      const payload = encodeSlotPayload(slot, params, 'int8');
      Object.assign(tensors, slotTensors(slot, payload));
      Object.assign(reference, slotParams(slot, payload));
    }
    const prompt = tokenizer.encode('Fellow-Citizens of the Senate and House of Representatives: The state of the Union');
    const expected = greedyDecode(reference, config, prompt, TOKENS).tokens;
    engine = await BlyanEngine.create(await gpuDevice(), config);
    engine.load(tensors);
    await engine.prefill(prompt);
    const got: number[] = [];
    for await (const t of engine.generate({ maxTokens: TOKENS, sampling: { temperature: 0 } })) got.push(t);
    expect(tokenizer.decode(got)).toBe(tokenizer.decode(expected));
    expect(got).toEqual(expected);
  });
});

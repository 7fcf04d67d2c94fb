import { describe, it } from 'vitest';
import { GENESIS_V2, PROMPT, genesisModel } from './genesis.ts';
import { V2_BUDGETS, expectBudgetDecode } from './genesis-v2.ts';
import { gpuDevice } from './gpu.ts';

describe('genesis v2 on WebGPU (f32): sequence budgets chosen from the prompt', () => {
  const model = genesisModel(GENESIS_V2);
  const prompt = model.tokenizer.encode(PROMPT);
  for (const m of V2_BUDGETS) {
    it(`budget ${m} of 16: greedy decoding token for token like the CPU reference`, async () => {
      await expectBudgetDecode(await gpuDevice(), 'f32', model, prompt, m);
    });
  }
});

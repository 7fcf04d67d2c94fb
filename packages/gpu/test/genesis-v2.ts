import { type ModelConfig, type ParamMap, budgetRouting, greedyDecode } from '@blyan/model';
import { describe, expect, it } from 'vitest';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import { GENESIS_V2, PROMPT, genesisModel } from './genesis.ts';

/** Genesis v2's modes: its default budget (6 of 16), low-bandwidth (3 of 16) and dynamic (16 of 16). */
export const V2_BUDGETS = [6, 3, 16] as const;

/** The answer's length: the benchmarks' one-sentence prompt plus a 32-token answer. */
export const ANSWER_TOKENS = 32;

/**
 * Greedy decoding of `prompt` under a sequence budget of m experts per layer on the engine, token
 * for token against the CPU reference's (the budget's prompt being the prompt).
 */
async function expectBudgetDecode(device: GPUDevice, precision: Precision, model: { config: ModelConfig; tensors: Parameters<BlyanEngine['load']>[0]; reference: ParamMap }, prompt: number[], m: number): Promise<void> {
  const routing = budgetRouting(m, model.config);
  const expected = greedyDecode(model.reference, model.config, prompt, ANSWER_TOKENS, routing);
  const kept = expected.state.allowed.map((set) => set?.length ?? model.config.nExperts);
  expect(kept, 'experts each layer keeps').toEqual(Array.from({ length: model.config.nLayers }, () => m));
  const engine = await BlyanEngine.create(device, model.config, { precision, decode: 'fused' });
  try {
    engine.load(model.tensors);
    await engine.prefill(prompt, routing);
    const got: number[] = [];
    for await (const t of engine.generate({ maxTokens: ANSWER_TOKENS, sampling: { temperature: 0 } })) got.push(t);
    expect(got, `budget ${m} of ${model.config.nExperts} at ${precision}`).toEqual(expected.tokens);
  } finally {
    engine.destroy();
  }
}

/** Genesis v2's modes on the engine at `precision` on `device`, each a test of greedy equality with the reference. */
export function describeBudgets(adapter: string, device: () => Promise<GPUDevice>, precision: Precision): void {
  describe(`genesis v2 on WebGPU (${precision}, ${adapter}): sequence budgets chosen from the prompt`, () => {
    const model = genesisModel(GENESIS_V2);
    const prompt = model.tokenizer.encode(PROMPT);
    for (const m of V2_BUDGETS) {
      it(`budget ${m} of 16: greedy decoding token for token like the CPU reference`, async () => {
        await expectBudgetDecode(await device(), precision, model, prompt, m);
      });
    }
  });
}

import { type ModelConfig, type ParamMap, budgetRouting, greedyDecode } from '@blyan/model';
import { describe, expect, it } from 'vitest';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import { GENESIS_V2, PROMPT, genesisModel } from './genesis.ts';

/** Genesis v2's modes: its default budget (6 of 16), low-bandwidth (3 of 16) and dynamic (16 of 16). */
export const V2_BUDGETS = [6, 3, 16] as const;

/** The answer's length: the benchmarks' one-sentence prompt plus a 32-token answer. */
export const ANSWER_TOKENS = 32;

type Model = { config: ModelConfig; tensors: Parameters<BlyanEngine['load']>[0]; reference: ParamMap };

/**
 * The CPU reference's greedy tokens for `prompt` under a sequence budget of m experts per layer
 * (the budget's prompt being the prompt), checking that every layer keeps m experts.
 */
function referenceTokens(model: Model, prompt: number[], m: number): number[] {
  const expected = greedyDecode(model.reference, model.config, prompt, ANSWER_TOKENS, budgetRouting(m, model.config));
  const kept = expected.state.allowed.map((set) => set?.length ?? model.config.nExperts);
  expect(kept, 'experts each layer keeps').toEqual(Array.from({ length: model.config.nLayers }, () => m));
  return expected.tokens;
}

/** A fused-decode engine with the model loaded, destroyed after `f`. */
async function withEngine(device: GPUDevice, precision: Precision, model: Model, f: (engine: BlyanEngine) => Promise<void>): Promise<void> {
  const engine = await BlyanEngine.create(device, model.config, { precision, decode: 'fused' });
  try {
    engine.load(model.tensors);
    await f(engine);
  } finally {
    engine.destroy();
  }
}

/** Genesis v2's modes on the engine at `precision` on `device`, each a test of greedy equality with the reference, then all three in one batch. */
export function describeBudgets(adapter: string, device: () => Promise<GPUDevice>, precision: Precision): void {
  describe(`genesis v2 on WebGPU (${precision}, ${adapter}): sequence budgets chosen from the prompt`, () => {
    const model = genesisModel(GENESIS_V2);
    const prompt = model.tokenizer.encode(PROMPT);
    const expected = new Map<number, number[]>();
    const reference = (m: number): number[] => expected.get(m) ?? expected.set(m, referenceTokens(model, prompt, m)).get(m)!;
    for (const m of V2_BUDGETS) {
      it(`budget ${m} of 16: greedy decoding token for token like the CPU reference`, async () => {
        await withEngine(await device(), precision, model, async (engine) => {
          await engine.prefill(prompt, budgetRouting(m, model.config));
          const got: number[] = [];
          for await (const t of engine.generate({ maxTokens: ANSWER_TOKENS, sampling: { temperature: 0 } })) got.push(t);
          expect(got, `budget ${m} of ${model.config.nExperts} at ${precision}`).toEqual(reference(m));
        });
      });
    }
    it('the three modes as three sequences of one batch: each row token for token like the CPU reference under its budget', async () => {
      await withEngine(await device(), precision, model, async (engine) => {
        const batch = await engine.createBatch(V2_BUDGETS.length);
        const rows: number[][] = V2_BUDGETS.map(() => []);
        const routings = V2_BUDGETS.map((m) => budgetRouting(m, model.config));
        for await (const tokens of batch.generate(V2_BUDGETS.map(() => prompt), { maxTokens: ANSWER_TOKENS, sampling: { temperature: 0 }, routings })) tokens.forEach((t, r) => rows[r]!.push(t));
        for (const [r, m] of V2_BUDGETS.entries()) expect(rows[r], `row ${r}: budget ${m} of ${model.config.nExperts} at ${precision}`).toEqual(reference(m));
      });
    });
  });
}

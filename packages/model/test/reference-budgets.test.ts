/**
 * Per-sequence expert budgets (issue 12) in the CPU reference, the spec the ONNX graphs and the
 * clients follow: checked against a brute-force search, and against inference's static-prompt
 * routing, which a client runs on one prompt.
 */
import { describe, expect, it } from 'vitest';
import { type ModelConfig, type SequenceBudget, forward, prefill } from '../src/reference/index.ts';
import { randomParams } from './compare.ts';

const CFG: ModelConfig = {
  vocabSize: 32,
  dModel: 16,
  nLayers: 3,
  nHeads: 2,
  nExperts: 7,
  topK: 2,
  dFF: 24,
  contextLength: 12,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.01,
  sequenceBudgets: { localityLossCoef: 0.01 },
};
const T = 12;
const BUDGETS: SequenceBudget[] = [
  { experts: 2, promptTokens: 4 },
  { experts: 5, promptTokens: 1 },
  { experts: 3, promptTokens: 12 },
  { experts: 7, promptTokens: 6 },
];
const B = BUDGETS.length;
const TOKENS = Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % CFG.vocabSize);
const TARGETS = Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % CFG.vocabSize);
const PARAMS = randomParams(CFG, 3);

/** Every m-subset of [0, E), in lexicographic order. */
function subsets(E: number, m: number, from = 0): number[][] {
  if (m === 0) return [[]];
  const out: number[][] = [];
  for (let e = from; e <= E - m; e++) for (const rest of subsets(E, m - 1, e + 1)) out.push([e, ...rest]);
  return out;
}

describe('sequence budgets in the reference', () => {
  it('give each sequence the m-subset of experts with the largest prompt probability (brute force), and route each token top-K inside it', () => {
    const acts = forward(PARAMS, CFG, TOKENS, TARGETS, B, T, { budgets: BUDGETS });
    const E = CFG.nExperts;
    for (const [l, { acts: layer }] of acts.layers.entries()) {
      const { probs, experts, weights, budgetSets } = layer.moe;
      expect(layer.moe.allowed).toBeNull();
      for (const [b, { experts: m, promptTokens }] of BUDGETS.entries()) {
        const mass = (set: number[]): number => {
          let sum = 0;
          for (let t = b * T; t < b * T + promptTokens; t++) for (const e of set) sum += probs[t * E + e]!;
          return sum;
        };
        let best = subsets(E, m)[0]!;
        for (const set of subsets(E, m)) if (mass(set) > mass(best) + 1e-6) best = set;
        expect(budgetSets![b], `layer ${l}, sequence ${b}`).toEqual(best);
        for (let t = b * T; t < (b + 1) * T; t++) {
          const ranked = [...best].sort((x, y) => probs[t * E + y]! - probs[t * E + x]! || x - y).slice(0, CFG.topK);
          expect(Array.from(experts.subarray(t * CFG.topK, (t + 1) * CFG.topK)), `layer ${l}, token ${t}`).toEqual(ranked);
          const total = ranked.reduce((s, e) => s + probs[t * E + e]!, 0);
          ranked.forEach((e, k) => expect(weights[t * CFG.topK + k]).toBeCloseTo(probs[t * E + e]! / total, 6));
        }
      }
    }
  });

  it("route each sequence as a client's static-prompt prefill of its prompt does: the same sets and logits", () => {
    const acts = forward(PARAMS, CFG, TOKENS, TARGETS, B, T, { budgets: BUDGETS });
    for (const [b, { experts: m, promptTokens }] of BUDGETS.entries()) {
      const sequence = TOKENS.slice(b * T, (b + 1) * T);
      const { state } = prefill(PARAMS, CFG, sequence.slice(0, promptTokens), { mode: 'static-prompt', expertsPerLayer: m });
      expect(acts.layers.map(({ acts: layer }) => layer.moe.budgetSets![b])).toEqual(state.allowed);
      const whole = prefill(PARAMS, CFG, sequence, { mode: 'static', allowed: state.allowed }).logits;
      const last = acts.logits.subarray(((b + 1) * T - 1) * CFG.vocabSize, (b + 1) * T * CFG.vocabSize);
      for (let v = 0; v < CFG.vocabSize; v++) expect(whole[v]).toBeCloseTo(last[v]!, 4);
    }
  });

  it('with a budget of every expert is dynamic routing', () => {
    const all = BUDGETS.map(({ promptTokens }) => ({ experts: CFG.nExperts, promptTokens }));
    expect(forward(PARAMS, CFG, TOKENS, TARGETS, B, T, { budgets: all }).logits).toEqual(forward(PARAMS, CFG, TOKENS, TARGETS, B, T).logits);
  });

  it('reject budgets outside [topK, nExperts], prompts outside [1, T] and a count other than B', () => {
    const run = (budgets: SequenceBudget[]) => () => forward(PARAMS, CFG, TOKENS, TARGETS, B, T, { budgets });
    const fix = (b: SequenceBudget): SequenceBudget[] => [b, ...BUDGETS.slice(1)];
    expect(run(fix({ experts: 1, promptTokens: 3 }))).toThrow(/expert budget must be an integer in \[topK = 2, nExperts = 7\], got 1/);
    expect(run(fix({ experts: 8, promptTokens: 3 }))).toThrow(/got 8/);
    expect(run(fix({ experts: 2.5, promptTokens: 3 }))).toThrow(/got 2.5/);
    expect(run(fix({ experts: 2, promptTokens: 0 }))).toThrow(/prompt must be an integer number of tokens in \[1, 12\], got 0/);
    expect(run(fix({ experts: 2, promptTokens: 13 }))).toThrow(/got 13/);
    expect(run(BUDGETS.slice(1))).toThrow(/3 sequence budgets for 4 sequences/);
  });
});

import { type ModelConfig, type ParamMap, type Routing, expertTensorNames, expertsUsed, initParams, prefill } from '@blyan/model';
import { describe, expect, it } from 'vitest';
import { type ExpertRef, loadPromptExperts } from '../src/worker/expert-plan.ts';
import { PhaseClock } from '../src/worker/phase-clock.ts';

const cfg: ModelConfig = { vocabSize: 64, dModel: 16, nLayers: 3, nHeads: 2, nExperts: 8, topK: 2, dFF: 32, contextLength: 32, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const full = initParams(cfg, 3);
const tokens = [5, 9, 1, 33, 12];

function withoutExperts(): ParamMap {
  return Object.fromEntries(Object.entries(full).filter(([name]) => !name.includes('.experts.')));
}

async function plan(routing: Routing) {
  const params = withoutExperts();
  const loads: ExpertRef[][] = [];
  // Each timed span lasts one tick of this clock: the probe's total is how many probes ran.
  let tick = 0;
  const clock = new PhaseClock(() => tick++);
  const { sets, mass, logits, state } = await loadPromptExperts(
    params,
    cfg,
    tokens,
    routing,
    async (missing) => {
      loads.push(missing);
      for (const { layer, expert } of missing) {
        for (const name of Object.values(expertTensorNames(layer, expert))) params[name] = full[name]!;
      }
    },
    clock,
  );
  return { params, loads, sets, mass, logits, state, probes: clock.totals()['router probe'] ?? 0 };
}

describe('loadPromptExperts', () => {
  it('loads exactly the experts dynamic routing uses, one batch per layer, and its pass is the prefill of the full model', async () => {
    const { params, loads, sets, mass, logits, state, probes } = await plan({ mode: 'dynamic' });
    // One router run per layer, each on the real experts of the layers before it.
    expect(probes).toBe(cfg.nLayers);
    const reference = prefill(full, cfg, tokens);
    expect(sets).toEqual(expertsUsed(reference.state));
    for (const [l, positions] of reference.state.routes.entries()) {
      const expected = Array.from({ length: cfg.nExperts }, (_, e) => positions.reduce((sum, r) => sum + r.probs[e]!, 0) / positions.length);
      mass[l]!.forEach((m, e) => expect(m, `layer ${l} expert ${e}: the prompt's mean router probability`).toBeCloseTo(expected[e]!, 12));
    }
    expect(loads.map((batch) => batch[0]!.layer)).toEqual([0, 1, 2]);
    expect(loads.flat().map(({ layer, expert }) => `${layer}.${expert}`).sort()).toEqual(sets.flatMap((s, l) => s.map((e) => `${l}.${e}`)).sort());
    expect(prefill(params, cfg, tokens).logits).toEqual(reference.logits);
    expect(logits).toEqual(reference.logits);
    expect(state.routes).toEqual(reference.state.routes);
  });

  it('loads each layer’s static set under static routing, fewer than all experts', async () => {
    const routing: Routing = { mode: 'static-prompt', expertsPerLayer: 3 };
    const { loads, sets, logits } = await plan(routing);
    const reference = prefill(full, cfg, tokens, routing);
    expect(sets).toEqual(reference.state.allowed);
    expect(logits).toEqual(reference.logits);
    expect(loads.map((batch) => batch.map((r) => r.layer))).toEqual(Array.from({ length: cfg.nLayers }, (_, l) => [l, l, l]));
    expect(loads.flat()).toHaveLength(3 * cfg.nLayers);
    expect(loads.flat().length).toBeLessThan(cfg.nLayers * cfg.nExperts);
  });

  it('loads nothing when every needed expert is present', async () => {
    const loads: ExpertRef[][] = [];
    await loadPromptExperts({ ...full }, cfg, tokens, { mode: 'dynamic' }, async (m) => void loads.push(m));
    expect(loads).toEqual([]);
  });
});

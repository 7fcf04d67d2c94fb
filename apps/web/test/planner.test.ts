import { type ModelConfig } from '@blyan/model';
import type { MetaPayload } from '@blyan/model/blocks';
import { describe, expect, it } from 'vitest';
import type { ExpertRef } from '../src/worker/expert-plan.ts';
import { DownloadPlanner, modeRouting, predictExperts } from '../src/worker/planner.ts';

const key = ({ layer, expert }: ExpertRef) => `${layer}.${expert}`;

/** Every subset of a layer's experts, smallest first: the brute-force answer to "fewest experts holding `share` of the mass". */
function bruteForce(row: number[], share: number): number[] {
  const total = row.reduce((a, b) => a + b, 0);
  let best: number[] | null = null;
  for (let mask = 0; mask < 1 << row.length; mask++) {
    const set = row.map((_, e) => e).filter((e) => mask & (1 << e));
    const mass = set.reduce((a, e) => a + row[e]!, 0);
    if (mass >= share * total && (best === null || set.length < best.length)) best = set;
  }
  return best!;
}

describe('predictExperts', () => {
  it('keeps per layer the fewest experts that hold the share of the prompt’s router mass, leaving out those already there', () => {
    const mass = [
      [0.5, 0.05, 0.3, 0.15],
      [0.05, 0.2, 0.3, 0.45],
      [0.97, 0.01, 0.01, 0.01],
    ];
    const all = predictExperts(mass, 0.9, () => false);
    for (const [l, row] of mass.entries()) {
      const got = all.filter((r) => r.layer === l).map((r) => r.expert);
      expect(got.length, `layer ${l}`).toBe(bruteForce(row, 0.9).length);
      expect(got.reduce((a, e) => a + row[e]!, 0), `layer ${l}`).toBeGreaterThanOrEqual(0.9 * row.reduce((a, b) => a + b, 0));
    }
    expect(all.map(key)).toEqual(['0.0', '0.2', '0.3', '1.3', '1.2', '1.1', '2.0']);
    expect(predictExperts(mass, 0.9, (r) => r.layer === 1).map(key)).toEqual(['0.0', '0.2', '0.3', '2.0']);
  });
});

describe('modeRouting', () => {
  const cfg: ModelConfig = { vocabSize: 64, dModel: 16, nLayers: 2, nHeads: 2, nExperts: 16, topK: 2, dFF: 32, contextLength: 32, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
  const routing: MetaPayload['routing'] = { modes: ['dynamic', 'static'], topK: 2, staticExpertsPerLayer: 6, budgets: { default: 6, lowBandwidth: 3 } };
  it('runs the meta block’s budgets: default and low bandwidth chosen from the prompt, dynamic over all experts', () => {
    expect(modeRouting('static', routing, cfg)).toEqual({ mode: 'static-prompt', expertsPerLayer: 6 });
    expect(modeRouting('low-bandwidth', routing, cfg)).toEqual({ mode: 'static-prompt', expertsPerLayer: 3 });
    expect(modeRouting('dynamic', routing, cfg)).toEqual({ mode: 'dynamic' });
    const { budgets: _, ...v1 } = routing;
    expect(modeRouting('low-bandwidth', v1, cfg)).toEqual({ mode: 'static-prompt', expertsPerLayer: 2 });
  });
});

describe('DownloadPlanner', () => {
  /** A load whose downloads finish when the test says. */
  function gatedLoads() {
    const started: string[] = [];
    const gates = new Map<string, { resolve(): void; reject(e: Error): void }>();
    const load = (ref: ExpertRef) =>
      new Promise<'network' | 'cache'>((resolve, reject) => {
        started.push(key(ref));
        gates.set(key(ref), { resolve: () => resolve('network'), reject });
      });
    return { started, load, finish: (k: string) => gates.get(k)!.resolve(), fail: (k: string) => gates.get(k)!.reject(new Error('offline')) };
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it('says why each expert came: prompt set, predicted (a token waits on its prefetch, fetched once), on demand', async () => {
    const g = gatedLoads();
    const planner = new DownloadPlanner(g.load, () => undefined);
    const prompt = planner.prompt([{ layer: 0, expert: 1 }]);
    g.finish('0.1');
    await prompt;
    planner.setMass([[0.1, 0.6, 0.3]]);
    planner.prefetch([{ layer: 0, expert: 2 }]);
    const waiting = planner.demand([{ layer: 0, expert: 2 }, { layer: 0, expert: 0 }]);
    await tick();
    expect(g.started).toEqual(['0.1', '0.2', '0.0']);
    g.finish('0.2');
    g.finish('0.0');
    await waiting;
    await planner.demand([{ layer: 0, expert: 1 }]);
    expect(g.started).toHaveLength(3);
    expect(planner.fetches.map(({ slot, reason, mass }) => [slot, reason, mass])).toEqual([
      ['layer0.expert1', 'prompt', 0.6],
      ['layer0.expert2', 'predicted', 0.3],
      ['layer0.expert0', 'on-demand', 0.1],
    ]);
  });

  it('fetches a failed prefetch again on demand, and settle waits for prefetches in flight', async () => {
    const g = gatedLoads();
    const planner = new DownloadPlanner(g.load, () => undefined);
    planner.prefetch([{ layer: 0, expert: 0 }, { layer: 0, expert: 1 }]);
    g.fail('0.0');
    await tick();
    const again = planner.demand([{ layer: 0, expert: 0 }]);
    await tick();
    expect(g.started).toEqual(['0.0', '0.1', '0.0']);
    g.finish('0.0');
    await again;
    let settled = false;
    const settling = planner.settle().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    g.finish('0.1');
    await settling;
    expect(planner.fetches.map((f) => [f.slot, f.reason])).toEqual([
      ['layer0.expert0', 'on-demand'],
      ['layer0.expert1', 'predicted'],
    ]);
  });
});

import type { PhaseClock } from './phase-clock.ts';
import { type ModelConfig, type ParamMap, type Routing, elementCount, expertTensorNames, expertsUsed, parameterShapes, prefill } from '@blyan/model';

export interface ExpertRef {
  layer: number;
  expert: number;
}

/** Per layer, the experts a prompt needs: those its tokens route to, or the static set it keeps. */
export type ExpertSets = number[][];

/** What the router says about a prompt: per layer the experts it needs, and its tokens' mean router probabilities [nExperts]. */
export interface PromptPlan {
  sets: ExpertSets;
  mass: number[][];
}

/**
 * Finds, layer by layer, the experts a prompt routes to and has `load` fetch exactly those. A probe
 * prefill runs with zero weights standing in for experts not yet loaded; the first layer that
 * needs an absent expert is exact (every layer before it ran real weights), so its missing experts
 * are loaded together, and the probe runs again, at most nLayers times (once the last layer's
 * experts are in, the probe that found them was exact for every layer: no run to confirm it). With static routing
 * the whole static set of a layer is loaded (decode steps may route to any of it). Adds the loaded
 * experts to `params`; returns the sets and the prompt's router mass per layer (from the last,
 * exact, probe). With a `clock`, the probe's prefills are timed there as 'router probe'.
 */
export async function loadPromptExperts(
  params: ParamMap,
  cfg: ModelConfig,
  tokens: readonly number[],
  routing: Routing,
  load: (missing: ExpertRef[]) => Promise<void>,
  clock?: PhaseClock,
): Promise<PromptPlan> {
  const zeros = zeroExperts(cfg);
  for (let round = 0; round <= cfg.nLayers; round++) {
    const probe: ParamMap = { ...params };
    for (let l = 0; l < cfg.nLayers; l++) {
      for (let e = 0; e < cfg.nExperts; e++) {
        const n = expertTensorNames(l, e);
        if (params[n.w1] === undefined) Object.assign(probe, { [n.w1]: zeros.w1, [n.w3]: zeros.w3, [n.w2]: zeros.w2 });
      }
    }
    const run = () => prefill(probe, cfg, tokens, routing);
    const { state } = clock ? clock.timeSync('router probe', run) : run();
    const used = expertsUsed(state);
    const sets = routing.mode === 'dynamic' ? used : state.allowed.map((a, l) => (a === null ? used[l]! : [...a]));
    const layer = sets.findIndex((set, l) => set.some((e) => params[expertTensorNames(l, e).w1] === undefined));
    const plan = () => ({ sets, mass: state.routes.map((positions) => meanProbs(positions.map((r) => r.probs), cfg.nExperts)) });
    if (layer < 0) return plan();
    await load(sets[layer]!.filter((e) => params[expertTensorNames(layer, e).w1] === undefined).map((expert) => ({ layer, expert })));
    for (const e of sets[layer]!) {
      if (params[expertTensorNames(layer, e).w1] === undefined) throw new Error(`loading layer${layer}.expert${e} did not add its weights`);
    }
    // A layer's router reads only the layers before it: with the last layer's experts in, this probe was exact everywhere.
    if (layer === cfg.nLayers - 1) return plan();
  }
  throw new Error('expert planning did not converge');
}

function meanProbs(rows: readonly number[][], E: number): number[] {
  const mean = new Array<number>(E).fill(0);
  for (const row of rows) for (let e = 0; e < E; e++) mean[e]! += row[e]! / rows.length;
  return mean;
}

function zeroExperts(cfg: ModelConfig): { w1: Float32Array; w3: Float32Array; w2: Float32Array } {
  const shapes = new Map(parameterShapes(cfg).map((s) => [s.name, s.shape]));
  const n = expertTensorNames(0, 0);
  const z = (name: string) => new Float32Array(elementCount(shapes.get(name)!));
  return { w1: z(n.w1), w3: z(n.w3), w2: z(n.w2) };
}

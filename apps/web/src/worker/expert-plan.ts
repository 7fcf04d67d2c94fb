import type { PhaseClock } from './phase-clock.ts';
import { type InferenceState, LayeredPrefill, type ModelConfig, type ParamMap, type Routing, expertTensorNames, expertsUsed } from '@blyan/model';

export interface ExpertRef {
  layer: number;
  expert: number;
}

/** Per layer, the experts a prompt needs: those its tokens route to, or the static set it keeps. */
export type ExpertSets = number[][];

/** What the prompt's pass found: per layer the experts it needs and its tokens' mean router probabilities [nExperts], and the pass itself. */
export interface PromptPlan {
  sets: ExpertSets;
  mass: number[][];
  /** The prompt's last logits (the first token's) and the state for decodeStep, from the real experts: the CPU reference's prefill. */
  logits: Float32Array;
  state: InferenceState;
}

/**
 * Runs the prompt through the CPU reference one layer at a time and has `load` fetch exactly the
 * experts each layer routes to, once that layer's router named them (its attention and router run
 * on the real weights of every layer before it): one batch per layer that lacks any, and the
 * prompt's pass is the probe, so its last logits give the first token. With static routing the
 * whole static set of a layer is loaded (decode steps may route to any of it). The state reads
 * `params`, where `load` adds the experts. With a `clock`, the layers' router runs are timed as
 * 'router probe', their runs with the real experts as 'prompt pass (CPU)'.
 */
export async function loadPromptExperts(
  params: ParamMap,
  cfg: ModelConfig,
  tokens: readonly number[],
  routing: Routing,
  load: (missing: ExpertRef[]) => Promise<void>,
  clock?: PhaseClock,
): Promise<PromptPlan> {
  const time = <T>(phase: string, f: () => T): T => (clock ? clock.timeSync(phase, f) : f());
  const pass = new LayeredPrefill(params, cfg, tokens, routing);
  for (let layer = 0; layer < cfg.nLayers; layer++) {
    const absent = time('router probe', () => pass.need()).filter((e) => params[expertTensorNames(layer, e).w1] === undefined);
    if (absent.length > 0) await load(absent.map((expert) => ({ layer, expert })));
    for (const e of absent) {
      if (params[expertTensorNames(layer, e).w1] === undefined) throw new Error(`loading layer${layer}.expert${e} did not add its weights`);
    }
    time('prompt pass (CPU)', () => pass.advance());
  }
  const { logits, state } = time('prompt pass (CPU)', () => pass.finish());
  const used = expertsUsed(state);
  const sets = state.allowed.map((a, l) => (a === null ? used[l]! : [...a]));
  return { sets, mass: state.routes.map((positions) => meanProbs(positions.map((r) => r.probs), cfg.nExperts)), logits, state };
}

function meanProbs(rows: readonly number[][], E: number): number[] {
  const mean = new Array<number>(E).fill(0);
  for (const row of rows) for (let e = 0; e < E; e++) mean[e]! += row[e]! / rows.length;
  return mean;
}

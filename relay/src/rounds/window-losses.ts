import type { ParamMap } from '@blyan/model';
import type { MetaPayload } from '@blyan/model/blocks';
import { type Window, windowBatch } from '@blyan/model/eval';
import { type WindowLosses, budgetLosses } from '@blyan/model/eval/routing';
import { type OnnxModel, onnxTokenLosses } from '@blyan/model/onnx';

/**
 * Mean cross-entropy (nats/token) over the scored targets (from `scoreFrom` on) of each window of
 * `stream` under `lossesOf`, `perBatch` windows per pass: the per-window losses a paired test compares.
 */
export async function windowMeans(lossesOf: WindowLosses, stream: Int32Array, windows: readonly Window[], length: number, perBatch: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < windows.length; i += perBatch) {
    const group = windows.slice(i, i + perBatch);
    const losses = await lossesOf(windowBatch(stream, group, length), group);
    for (const [b, { scoreFrom }] of group.entries()) {
      let s = 0;
      for (let t = scoreFrom; t < length; t++) s += losses[b * length + t]!;
      out.push(s / (length - scoreFrom));
    }
  }
  return out;
}

/** The model a round measures with: the relay's ONNX session and the meta payload that says how the app routes it. */
export interface RoundModel {
  readonly model: OnnxModel;
  readonly payload: Pick<MetaPayload, 'routing'>;
}

/**
 * The windows a round scores, from windows drawn whole (`drawWindows`): for a model with sequence
 * budgets each window's first half is the prompt its experts are chosen from and only its second
 * half is scored, as the app's default mode answers; otherwise every target is scored.
 */
export function roundWindows(m: RoundModel, drawn: readonly Window[], length: number): Window[] {
  return m.payload.routing.budgets === undefined ? [...drawn] : drawn.map(({ start }) => ({ start, scoreFrom: Math.floor(length / 2) }));
}

/** Targets the windows score: the tokens a verdict says it judged. */
export const scoredTokens = (windows: readonly Window[], length: number): number => windows.reduce((n, w) => n + length - w.scoreFrom, 0);

/**
 * windowMeans of `params` under the routing the app runs by default: within the model's default
 * budget (meta `routing.budgets.default` experts per layer, chosen from each window's unscored
 * prompt: budgetLosses, as `pnpm bench:swarm` measures), or dynamic routing for a model without
 * budgets. Both on the ONNX forward graph (onnxTokenLosses).
 */
export function windowLosses(m: RoundModel, params: ParamMap, stream: Int32Array, windows: readonly Window[], length: number, perBatch: number): Promise<number[]> {
  const tokenLosses = (batch: Parameters<WindowLosses>[0]) => onnxTokenLosses(m.model, params, batch);
  const budget = m.payload.routing.budgets?.default;
  const lossesOf: WindowLosses = budget === undefined ? tokenLosses : budgetLosses(budget, { tokenLosses, dispose: async () => {} });
  return windowMeans(lossesOf, stream, windows, length, perBatch);
}

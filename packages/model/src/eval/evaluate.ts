import type { CorpusSplit } from '../data/corpus.ts';
import type { ParamMap } from '../reference/arrays.ts';
import type { Routing } from '../reference/routing.ts';
import type { ModelCheckpoint } from '../train/checkpoint.ts';
import type { EvalBackend, EvalBackendFactory } from './eval-backend.ts';
import { withInt8Experts } from './quantize.ts';
import type { WindowLosses } from './score.ts';
import { splitBpb } from './split-bpb.ts';
import { type ExpertShare, expertShare } from './expert-share.ts';
import { promptChosenLosses } from './static-routing.ts';
import { xzBitsPerByte } from './xz-floor.ts';

export interface EvalRow {
  readonly label: string;
  /** Bits per byte on the val and hidden splits. */
  readonly val: number;
  readonly hidden: number;
  /** MoE rows: the experts a one-sentence prompt and its answer need under the row's routing. */
  readonly share?: ExpertShare;
}

export interface EvalOptions {
  readonly moe: ModelCheckpoint;
  readonly dense?: ModelCheckpoint;
  readonly corpus: CorpusSplit;
  /** Window stride (stridedWindows); the window length is each model's contextLength. */
  readonly stride: number;
  /** Experts per layer for each row whose sets are chosen from the prompt. */
  readonly staticExperts: readonly number[];
  readonly backend: EvalBackendFactory;
  /** Windows per backend call. */
  readonly perBatch: number;
  readonly progress?: (row: EvalRow, seconds: number) => void;
}

type Split = 'val' | 'hidden';
const SPLITS: readonly Split[] = ['val', 'hidden'];

/**
 * Every row of the evaluation table, in order: the MoE in f32 with dynamic routing, with int8
 * experts, with m experts per layer chosen from the prompt for each m (static-prompt routing; a
 * budget of m for a model with sequence budgets), the dense baseline, and the xz floor.
 */
export async function evaluate(o: EvalOptions): Promise<EvalRow[]> {
  const rows: EvalRow[] = [];
  const add = (row: EvalRow, started: number): void => {
    rows.push(row);
    o.progress?.(row, (performance.now() - started) / 1000);
  };
  const texts = (split: keyof CorpusSplit): string[] => o.corpus[split].map((d) => d.text);
  const score = async (label: string, model: ModelCheckpoint, params: ParamMap, lossesOf: (b: EvalBackend) => WindowLosses, routing?: Routing): Promise<void> => {
    const started = performance.now();
    const backend = await o.backend(model.config, params);
    try {
      const bpb: number[] = [];
      for (const split of SPLITS) bpb.push((await splitBpb(lossesOf(backend), model.tokenizer, texts(split), model.config.contextLength, o.stride, o.perBatch)).bpb);
      const share = routing && { share: expertShare(params, model.config, model.tokenizer, routing) };
      add({ label, val: bpb[0]!, hidden: bpb[1]!, ...share }, started);
    } finally {
      await backend.dispose();
    }
  };
  const dynamic = (b: EvalBackend): WindowLosses => (batch) => b.tokenLosses(batch);
  const { moe } = o;
  const k = moe.config.topK;
  await score(`MoE f32, dynamic top-${k}`, moe, moe.params, dynamic, { mode: 'dynamic' });
  await score(`MoE int8 experts, dynamic top-${k}`, moe, withInt8Experts(moe.params, moe.config), dynamic);
  for (const m of o.staticExperts) {
    const label = `MoE f32, ${m} of ${moe.config.nExperts} experts/layer chosen from the prompt`;
    await score(label, moe, moe.params, (b) => promptChosenLosses(moe.params, moe.config, m, b), { mode: 'static-prompt', expertsPerLayer: m });
  }
  if (o.dense) await score(`dense baseline f32 (dFF ${o.dense.config.dFF})`, o.dense, o.dense.params, dynamic);
  const started = performance.now();
  const xz = xzBitsPerByte(texts('train'), { val: texts('val'), hidden: texts('hidden') });
  add({ label: 'xz -9e (given the train split)', val: xz.val, hidden: xz.hidden }, started);
  return rows;
}

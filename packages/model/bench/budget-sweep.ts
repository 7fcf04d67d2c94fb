/**
 * A quick budget sweep for pilots: bits per byte of a checkpoint under dynamic routing and under
 * m experts per layer chosen from each window's prompt, on `--windows` windows spread over the val
 * split (the first half of each window is the prompt, the second half is scored), plus the experts
 * five one-sentence prompts and their 32-token answers need (eval/expert-share.ts). A sample, not
 * the whole split: eval.ts gives the table's figures.
 *
 *   pnpm exec tsx packages/model/bench/budget-sweep.ts --checkpoint FILE [--windows 64] [--budgets 2,3,4,6,8]
 */
import { parseArgs } from 'node:util';
import { loadCorpusSplit } from '../src/data/corpus.ts';
import { evalBackend } from '../src/eval/backends.ts';
import { bitsPerByte, tokenByteLengths } from '../src/eval/bpb.ts';
import { expertShare } from '../src/eval/expert-share.ts';
import { type WindowLosses, scoreWindows } from '../src/eval/score.ts';
import { promptChosenLosses } from '../src/eval/static-routing.ts';
import { evalStream, spreadWindows } from '../src/eval/windows.ts';
import type { Routing } from '../src/reference/routing.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';

const { values } = parseArgs({ options: { checkpoint: { type: 'string' }, windows: { type: 'string', default: '64' }, budgets: { type: 'string', default: '2,3,4,6,8' } } });
if (values.checkpoint === undefined) throw new Error('--checkpoint FILE is required');
const model = readCheckpoint(values.checkpoint);
const cfg = model.config;
const T = cfg.contextLength;
const stream = evalStream(
  model.tokenizer,
  loadCorpusSplit().val.map((d) => d.text),
);
const spread = spreadWindows(stream.length, T, Number(values.windows));
const windows = spread.windows.map(({ start }) => ({ start, scoreFrom: Math.floor(T / 2) }));
const byteLengths = tokenByteLengths(model.tokenizer);
let bytes = 0;
for (const { start, scoreFrom } of windows) for (let t = start + scoreFrom + 1; t <= start + spread.length; t++) bytes += byteLengths[stream[t]!]!;
const backend = await evalBackend('ort')(cfg, model.params);
const rows: { label: string; routing: Routing; losses: WindowLosses }[] = [
  { label: `dynamic top-${cfg.topK}`, routing: { mode: 'dynamic' }, losses: (batch) => backend.tokenLosses(batch) },
  ...values.budgets.split(',').map((text) => {
    const m = Number(text);
    return { label: `${m} of ${cfg.nExperts} from the prompt`, routing: { mode: 'static-prompt', expertsPerLayer: m } as Routing, losses: promptChosenLosses(model.params, cfg, m, backend) };
  }),
];
let base: number | undefined;
process.stdout.write(`${values.checkpoint}: ${windows.length} val windows, prompt ${T / 2} tokens, ${bytes} scored bytes\n`);
for (const { label, routing, losses } of rows) {
  const { nats } = await scoreWindows(losses, stream, windows, spread.length, 16);
  const bpb = bitsPerByte(nats, bytes);
  base ??= bpb;
  const share = expertShare(model.params, cfg, model.tokenizer, routing);
  const delta = bpb - base;
  process.stdout.write(`${label.padEnd(22)} ${bpb.toFixed(4)} bpb  ${delta >= 0 ? '+' : ''}${delta.toFixed(4)}  experts ${share.experts.toFixed(1)} (${(100 * share.share).toFixed(1)} %)\n`);
}
await backend.dispose();

import { parseArgs } from 'node:util';
import { loadCorpusSplit } from '../data/corpus.ts';
import { EVAL_BACKEND_NAMES, evalBackend } from '../eval/backends.ts';
import { type EvalRow, evaluate } from '../eval/evaluate.ts';
import { ANSWER_TOKENS, SHARE_PROMPTS } from '../eval/expert-share.ts';
import { checkSplits, readCheckpoint } from '../train/checkpoint.ts';
import { choiceArg, numberArg, requiredArg, runMain } from './args.ts';

const USAGE = `usage: pnpm exec tsx packages/model/src/cli/eval.ts --checkpoint FILE [options]
  --checkpoint FILE   the MoE checkpoint.tensors
  --dense FILE        the dense baseline's checkpoint.tensors
  --stride N          window stride in tokens (default 128; 256 = non-overlapping windows)
  --static M,M        rows with M experts per layer chosen from the prompt (static-prompt routing, or
                      a budget of M for a model with sequence budgets; default 2,4; "" for none)
  --backend NAME      ${EVAL_BACKEND_NAMES.join(' | ')} (default ${EVAL_BACKEND_NAMES[0]})
  --batch N           windows per backend call (default 16)`;

const OPTIONS = {
  checkpoint: { type: 'string' },
  dense: { type: 'string' },
  stride: { type: 'string' },
  static: { type: 'string', default: '2,4' },
  backend: { type: 'string', default: EVAL_BACKEND_NAMES[0] },
  batch: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

function formatTable(rows: readonly EvalRow[]): string {
  const base = rows[0]!;
  const width = Math.max(...rows.map((r) => r.label.length));
  const cell = (x: number): string => x.toFixed(4).padStart(8);
  const delta = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`.padStart(9);
  const share = (r: EvalRow): string => (r.share ? `${r.share.experts.toFixed(1).padStart(6)} (${(100 * r.share.share).toFixed(1)} %)` : '');
  const lines = [`${'model'.padEnd(width)}   val bpb  hidden bpb     Δ val  experts per prompt + answer`, '-'.repeat(width + 62)];
  for (const r of rows) lines.push(`${r.label.padEnd(width)}  ${cell(r.val)}    ${cell(r.hidden)}  ${r === base ? ''.padStart(9) : delta(r.val - base.val)}  ${share(r)}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backend = evalBackend(choiceArg('backend', values.backend, EVAL_BACKEND_NAMES));
  const corpus = loadCorpusSplit();
  const path = requiredArg('checkpoint', values.checkpoint);
  const moe = readCheckpoint(path);
  checkSplits(moe, corpus, path);
  const dense = values.dense === undefined ? undefined : readCheckpoint(values.dense);
  if (dense) checkSplits(dense, corpus, values.dense!);
  const T = moe.config.contextLength;
  const stride = numberArg('stride', values.stride, { integer: true, min: 1, max: T }) ?? Math.max(1, Math.floor(T / 2));
  const staticExperts = values.static.trim() === '' ? [] : values.static.split(',').map((m) => numberArg('static', m, { integer: true, min: moe.config.topK, max: moe.config.nExperts })!);
  const rows = await evaluate({
    moe,
    ...(dense ? { dense } : {}),
    corpus,
    stride,
    staticExperts,
    backend,
    perBatch: numberArg('batch', values.batch, { integer: true, min: 1 }) ?? 16,
    progress: (row, seconds) => process.stderr.write(`${row.label}: val ${row.val.toFixed(4)}, hidden ${row.hidden.toFixed(4)} bits/byte (${seconds.toFixed(0)} s)\n`),
  });
  process.stdout.write(`${formatTable(rows)}\n`);
  process.stdout.write(
    `bits per byte = total cross-entropy (nats) / ln 2 / UTF-8 bytes of the split's text, over every token of every document and each\n` +
      `document's <|endoftext|>, the documents forming one stream; windows of ${T} tokens with stride ${stride}, so every target is scored once\n` +
      `and all but the first ${T} see at least ${T - stride} tokens of context. Static-prompt rows choose each layer's experts from the window's\n` +
      `unscored context (the prompt) and score the rest within them. xz: (|xz(train + split)| − |xz(train)|) · 8 / bytes(split).\n` +
      `Experts per prompt + answer: the experts (of ${moe.config.nLayers * moe.config.nExperts}) that ${SHARE_PROMPTS.length} one-sentence prompts and their ${ANSWER_TOKENS}-token greedy answers are routed to, their mean,\n` +
      `and that as a share of the expert bytes.\n`,
  );
}

runMain(main);

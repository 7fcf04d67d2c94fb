/**
 * `pnpm bench:grow`: genesis v2 (its int8 blocks, as clients run it) grown by 2 experts per layer
 * for a new domain (SpamAssassin mail bodies, the data hub's seed corpus), on the CPU reference:
 * which experts the new text routes to most (the upcycling sources), and, with the new router rows
 * at zero, how much of each domain routes to the new experts, and whether every window that routes
 * to none keeps its losses bit for bit. Baseline: the ungrown model on the same windows.
 */
import { fileURLToPath } from 'node:url';
import { type ModelConfig, type ParamMap, type SequenceBudget, forward } from '@blyan/model';
import { throughBlocks } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { loadCorpusSplit } from '@blyan/model/data';
import { evalStream } from '@blyan/model/eval';
import { growModel, planGrowth } from '@blyan/model/grow';
import { formatTable } from '../src/cli/table.ts';
import { spamAssassinTexts } from '../src/data/seed-corpus.ts';

const WINDOWS = Number(process.env.GROW_WINDOWS ?? 16);
const T = 128;
const PROMPT = 32;

const { config, tokenizer, params: f32 } = readCheckpoint(fileURLToPath(new URL('../../public/genesis-v2/checkpoint.tensors', import.meta.url)));
const { params } = throughBlocks(config, f32, 'int8');
const mail = spamAssassinTexts(400);
const publicMail = evalStream(tokenizer, mail.filter((_, i) => i % 2 === 0));
const heldMail = evalStream(tokenizer, mail.filter((_, i) => i % 2 === 1));
const genesisVal = evalStream(tokenizer, loadCorpusSplit().val.map((d) => d.text));

const started = performance.now();
const { record, counts } = planGrowth(config, params, { name: 'spam-assassin', block: '0'.repeat(64), stream: publicMail }, 2, 64);
const grown = growModel({ config, params }, record.sources);
const planSeconds = (performance.now() - started) / 1000;

interface Measure {
  readonly newShare: number;
  readonly windowsTouched: number;
  readonly untouchedEqual: number;
  readonly natsBase: number;
  readonly natsGrown: number;
}

/** Over WINDOWS windows of T tokens spread over the stream: routing to the new experts, and the losses of both models. */
function measure(stream: Int32Array, budget: number | null): Measure {
  let assignments = 0;
  let toNew = 0;
  let windowsTouched = 0;
  let untouchedEqual = 0;
  let natsBase = 0;
  let natsGrown = 0;
  const step = Math.floor((stream.length - T - 1) / WINDOWS);
  const run = (p: ParamMap, cfg: ModelConfig, inputs: Int32Array, targets: Int32Array) => {
    const budgets: SequenceBudget[] | undefined = budget === null ? undefined : [{ experts: budget, promptTokens: PROMPT }];
    return forward(p, cfg, inputs, targets, 1, T, budgets ? { budgets } : []);
  };
  for (let w = 0; w < WINDOWS; w++) {
    const inputs = stream.subarray(w * step, w * step + T);
    const targets = stream.subarray(w * step + 1, w * step + T + 1);
    const base = run(params, config, inputs, targets);
    const after = run(grown.params, grown.config, inputs, targets);
    let touched = false;
    for (const { acts } of after.layers) {
      for (const e of acts.moe.experts) {
        assignments++;
        if (e >= config.nExperts) {
          toNew++;
          touched = true;
        }
      }
    }
    if (touched) windowsTouched++;
    else if (base.losses.every((l, i) => Object.is(l, after.losses[i]))) untouchedEqual++;
    natsBase += base.ce;
    natsGrown += after.ce;
  }
  return { newShare: toNew / assignments, windowsTouched, untouchedEqual, natsBase: natsBase / WINDOWS, natsGrown: natsGrown / WINDOWS };
}

console.log(`genesis v2 (int8 blocks) grown by 2 experts per layer for SpamAssassin mail; CPU reference; ${WINDOWS} windows of ${T} tokens per row`);
console.log(formatTable(['layer', 'top-2 picks per expert on the public mail (64 windows of 256)', 'upcycled'], counts.map((c, l) => [String(l), c.join(' '), record.sources[l]!.map((e, i) => `${e} → ${16 + i}`).join(', ')])));
console.log(`routing counts and growth: ${planSeconds.toFixed(1)} s`);
const rows: string[][] = [];
for (const [label, stream] of [['held-out mail', heldMail], ['genesis val', genesisVal]] as const) {
  for (const budget of [null, 6, 3]) {
    const m = measure(stream, budget);
    rows.push([
      label,
      budget === null ? 'dynamic (18)' : `budget ${budget} (prompt ${PROMPT})`,
      `${(100 * m.newShare).toFixed(2)} %`,
      `${m.windowsTouched} / ${WINDOWS}`,
      `${m.untouchedEqual} / ${WINDOWS - m.windowsTouched}`,
      m.natsBase.toFixed(4),
      m.natsGrown.toFixed(4),
    ]);
  }
}
console.log(formatTable(['text', 'routing', 'assignments to new experts', 'windows routed to them', 'other windows bit-equal', 'ungrown nats/token', 'grown (zero rows) nats/token'], rows));

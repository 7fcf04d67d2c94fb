/**
 * `pnpm bench:grow`: genesis v2 (its int8 blocks, as clients run it) grown by 2 experts per layer
 * for a new domain (SpamAssassin mail bodies, the data hub's seed corpus), on the CPU reference:
 * which experts the new text routes to most (the upcycling sources), and, with the new router rows
 * at zero, how much of each domain routes to the new experts, and whether every window that routes
 * to none keeps its losses bit for bit. Baseline: the ungrown model on the same windows.
 */
import { fileURLToPath } from 'node:url';
import { type ModelConfig, type ParamMap, Rng, type SequenceBudget, forward } from '@blyan/model';
import { throughBlocks } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { loadCorpusSplit } from '@blyan/model/data';
import { evalStream, windowBatch } from '@blyan/model/eval';
import { growModel, growthTraining, planGrowth } from '@blyan/model/grow';
import { OnnxModel } from '@blyan/model/onnx';
import { formatTable } from '../src/cli/table.ts';
import { spamAssassinTexts } from '../src/data/seed-corpus.ts';

const WINDOWS = Number(process.env.GROW_WINDOWS ?? 16);
const MEASURE = process.env.GROW_MEASURE !== '0';
const COUNT_WINDOWS = Number(process.env.GROW_COUNT_WINDOWS ?? 64);
const T = 128;
const PROMPT = 32;

const { config, tokenizer, params: f32 } = readCheckpoint(fileURLToPath(new URL('../../public/genesis-v2/checkpoint.tensors', import.meta.url)));
const { params } = throughBlocks(config, f32, 'int8');
const mail = spamAssassinTexts(400);
const publicMail = evalStream(tokenizer, mail.filter((_, i) => i % 2 === 0));
const heldMail = evalStream(tokenizer, mail.filter((_, i) => i % 2 === 1));
const genesisVal = evalStream(tokenizer, loadCorpusSplit().val.map((d) => d.text));

const started = performance.now();
const { record, counts } = planGrowth(config, params, { name: 'spam-assassin', block: '0'.repeat(64), stream: publicMail }, 2, COUNT_WINDOWS);
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
console.log(formatTable(['layer', `top-2 picks per expert on the public mail (${COUNT_WINDOWS} windows of 256)`, 'upcycled'], counts.map((c, l) => [String(l), c.join(' '), record.sources[l]!.map((e, i) => `${e} → ${16 + i}`).join(', ')])));
console.log(`routing counts and growth: ${planSeconds.toFixed(1)} s`);
const rows: string[][] = [];
for (const [label, stream] of MEASURE ? ([['held-out mail', heldMail], ['genesis val', genesisVal]] as const) : []) {
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
if (MEASURE) console.log(formatTable(['text', 'routing', 'assignments to new experts', 'windows routed to them', 'other windows bit-equal', 'ungrown nats/token', 'grown (zero rows) nats/token'], rows));

/**
 * With GROW_TRAIN_STEPS > 0: trains only the new experts and their router rows (growthTraining:
 * every old byte frozen) on random windows of the public mail (GROW_REPLAY of each batch's 8 from
 * the genesis train split instead), AdamW on onnxruntime-node, and
 * reports the mean cross-entropy (nats/token) of held-out mail and genesis val (the windows above,
 * dynamic and at the default budget of 6 experts per layer chosen from the first 32 tokens) as it
 * goes, and the share of their assignments the new experts then take. GROW_ROUTER=0 keeps the new
 * router rows frozen too.
 */
const STEPS = Number(process.env.GROW_TRAIN_STEPS ?? 0);
if (STEPS > 0) {
  const LR = Number(process.env.GROW_LR ?? 1e-3);
  const BATCH = 8;
  const REPLAY = Number(process.env.GROW_REPLAY ?? 0);
  const genesisTrain = evalStream(tokenizer, loadCorpusSplit().train.map((d) => d.text));
  const model = OnnxModel.create(grown.config);
  const ROUTER = process.env.GROW_ROUTER !== '0';
  const training = growthTraining(grown.config, config.nExperts);
  const options = ROUTER ? training : { trainable: training.trainable.filter((name) => !name.endsWith('.router')) };
  const state = model.createTrainState(Object.fromEntries(Object.entries(grown.params).map(([k, v]) => [k, v.slice()])), options);
  const evalWindows = (stream: Int32Array) => windowBatch(stream, Array.from({ length: WINDOWS }, (_, w) => ({ start: w * Math.floor((stream.length - T - 1) / WINDOWS), scoreFrom: 0 })), T);
  const evalCe = async (stream: Int32Array, budget?: number) => {
    const b = evalWindows(stream);
    const budgets = budget === undefined ? {} : { budgets: Array.from({ length: b.B }, () => ({ experts: budget, promptTokens: PROMPT })) };
    return (await model.forward(state.params, { tokens: b.inputs, targets: b.targets, B: b.B, T: b.T, ...budgets })).ce;
  };
  const newShare = (stream: Int32Array): number => {
    const b = evalWindows(stream);
    const acts = forward(state.params, grown.config, b.inputs.subarray(0, 4 * T), b.targets.subarray(0, 4 * T), 4, T);
    const all = acts.layers.flatMap(({ acts: a }) => [...a.moe.experts]);
    return all.filter((e) => e >= config.nExperts).length / all.length;
  };
  const rng = new Rng(7);
  const trainRows: string[][] = [];
  const report = async (at: number, seconds: number) =>
    trainRows.push([
      String(at),
      (await evalCe(heldMail)).toFixed(4),
      (await evalCe(genesisVal)).toFixed(4),
      (await evalCe(heldMail, 6)).toFixed(4),
      (await evalCe(genesisVal, 6)).toFixed(4),
      `${(100 * newShare(heldMail)).toFixed(1)} %`,
      `${(100 * newShare(genesisVal)).toFixed(1)} %`,
      seconds.toFixed(0),
    ]);
  const t0 = performance.now();
  await report(0, 0);
  for (let s = 1; s <= STEPS; s++) {
    const from = (stream: Int32Array, n: number) => windowBatch(stream, Array.from({ length: n }, () => ({ start: rng.nextUint32() % (stream.length - T - 1), scoreFrom: 0 })), T);
    const mailBatch = from(publicMail, BATCH - REPLAY);
    const replay = from(genesisTrain, REPLAY);
    const b = { inputs: Int32Array.from([...mailBatch.inputs, ...replay.inputs]), targets: Int32Array.from([...mailBatch.targets, ...replay.targets]), B: BATCH, T };
    await model.trainStep(state, { tokens: b.inputs, targets: b.targets, B: b.B, T: b.T }, LR);
    if (s % Math.max(1, Math.floor(STEPS / 4)) === 0 || s === STEPS) await report(s, (performance.now() - t0) / 1000);
  }
  const frozen = Object.entries(grown.params).every(([name, v]) => {
    const now = state.params[name]!;
    if (name.endsWith('.router')) return now.subarray(0, config.nExperts * config.dModel).every((x, i) => Object.is(x, v[i]));
    return state.trainable.includes(name) || now.every((x, i) => Object.is(x, v[i]));
  });
  console.log(`\ntraining the new experts${ROUTER ? ' and their router rows' : ' (router rows frozen at zero)'} only: ${STEPS} AdamW steps of ${BATCH} windows of ${T} tokens (${BATCH - REPLAY} public mail, ${REPLAY} genesis train), lr ${LR}, onnxruntime-node; old bytes unchanged: ${frozen}`);
  console.log(formatTable(['step', 'mail, dynamic', 'genesis val, dynamic', `mail, budget 6 (prompt ${PROMPT})`, 'genesis val, budget 6', 'mail to new experts', 'genesis val to new experts', 'seconds'], trainRows));
  await model.dispose();
}

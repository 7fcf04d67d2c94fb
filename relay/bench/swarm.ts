/**
 * Swarm benchmark (not a test): N simulated browsers contribute to rounds on a new domain, the
 * SpamAssassin mail corpus, starting from the committed canonical genesis (public/genesis-v2, the
 * one the relay imports; `--genesis public/genesis` runs v1). Each browser runs the contribute
 * worker's own modules (ShardBatches, the ExpertTrainer interface on onnxruntime-node,
 * buildCandidate's int8 top-k delta under the relay's norm and density bounds) at the app's
 * DEFAULT_CONTRIBUTE settings, training under dynamic routing as the worker's trainers do, with the
 * relay's replay (DEFAULT_ROUNDS.dataset.replay of each unit's micro-steps on a shard of the
 * genesis train split, interleaved by the worker's unitBatches; --replay overrides it). The
 * relay's side is the rounds pipeline at DEFAULT_ROUNDS (relay/src/rounds/config.ts): each delta
 * scored on a relay-held sample of its shard (its own paired test), copies and hurting deltas
 * dropped, the rest averaged into one Nesterov outer step per slot, the aggregate judged by the
 * paired test on fresh windows of the new domain's hidden part and a non-inferiority test against
 * the genesis model on the genesis hidden split (the lower bound of the change may not fall below
 * −0.01 bpb in total), credit split among the kept authors. This loop runs @blyan/rounds itself,
 * not the relay's `Rounds` class (no store, HTTP, signatures or ledger; see docs/BENCHMARKS.md).
 *
 * Every loss is measured under the routing a user runs: for a model with sequence budgets (genesis
 * v2) its default budget (meta routing.budgets.default, 6 of 16 experts per layer) chosen from
 * each window's unscored first half, as the browser's default mode chooses it from the prompt. The
 * trained experts are those this routing sends mail to much more than genesis text. Bits per byte
 * of both domains are measured each round on fixed sets kept apart from the windows the paired
 * test draws. Resumable: the state after each round is saved under --out, and progress is
 * appended to --out/progress.log.
 *
 * `--table` prints the table of the run in --out as far as it got, without running anything.
 *
 *   pnpm bench:swarm [--browsers 16] [--rounds 20] [--adversarial 0.25] [--replay 0.25] [--out DIR] [--genesis DIR]
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Hash, decodeBlock, payloadHash } from '@blyan/block';
import { applyDelta, decodeDelta } from '@blyan/delta';
import { type ParamMap, Tokenizer, forward } from '@blyan/model';
import { type SlotPlan, encodeSlotPayload, expertSlotName, parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { loadCorpusSplit } from '@blyan/model/data';
import { type Window, stridedWindows } from '@blyan/model/eval';
import { OnnxModel } from '@blyan/model/onnx';
import { type OuterState, type Seen, type Submission, aggregate, bpbBudget, combine, roundCredit, twoDomainVerdict } from '@blyan/rounds';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { unitBatches } from '../../apps/web/src/contribute/batches.ts';
import { buildCandidate } from '../../apps/web/src/contribute/candidate.ts';
import type { LoadedBlock } from '../../apps/web/src/contribute/frozen-model.ts';
import { DEFAULT_CONTRIBUTE } from '../../apps/web/src/contribute/protocol.ts';
import { type WindowLosses, scoreWindows } from '../../packages/model/src/eval/score.ts';
import { budgetLosses } from '../../packages/model/src/eval/static-routing.ts';
import { onnxTokenLosses } from '../../packages/model/src/train/onnx-backend.ts';
import { CANONICAL_GENESIS_DIR } from '../src/config.ts';
import { defaultAccountsConfig } from '../src/contributions/config.ts';
import { hiddenPassages } from '../src/contributions/eval-pool.ts';
import { drawWindows, freshSample } from '../src/contributions/sample.ts';
import { parseGenesisFile, rebuildGenesis } from '../src/genesis.ts';
import { DEFAULT_ROUNDS } from '../src/rounds/config.ts';
import { replayFractionError } from '../src/rounds/replay.ts';
import { windowMeans } from '../src/rounds/window-losses.ts';
import { keyedSplit, shards, spamAssassin } from './swarm/domain.ts';
import { ortTrainer } from './swarm/ort-trainer.ts';
import { type Row, type Saved, swarmReport } from './swarm/report.ts';
import { loadState, saveState, type TensorSet } from './swarm/state.ts';
import { type TextSet, takeTokens, textSet } from './swarm/texts.ts';
import { mean } from './stats.ts';

const { values } = parseArgs({
  options: {
    browsers: { type: 'string' },
    rounds: { type: 'string' },
    steps: { type: 'string' },
    contributors: { type: 'string' },
    genesis: { type: 'string' },
    experts: { type: 'string' },
    adversarial: { type: 'string' },
    out: { type: 'string' },
    'outer-lr': { type: 'string' },
    momentum: { type: 'string' },
    windows: { type: 'string' },
    'score-windows': { type: 'string' },
    'track-tokens': { type: 'string' },
    'pool-tokens': { type: 'string' },
    'genesis-budget': { type: 'string' },
    threads: { type: 'string' },
    'own-margin': { type: 'string' },
    replay: { type: 'string' },
    table: { type: 'boolean' },
  },
});
const num = (name: keyof typeof values, fallback: number): number => (values[name] === undefined ? fallback : Number(values[name]));
const N = num('browsers', 16);
const ROUNDS = num('rounds', 20);
const H = num('steps', DEFAULT_ROUNDS.steps);
/** Browsers per slot round: the relay's contributors per round, so N browsers keep N / that slots busy. */
const CONTRIBUTORS = num('contributors', DEFAULT_ROUNDS.contributors);
const SLOTS = Math.max(1, Math.round(N / CONTRIBUTORS));
const ADVERSARIAL = num('adversarial', 0);
const OUT = values.out ?? join('.blyan', 'bench-swarm', ADVERSARIAL > 0 ? 'adversarial' : 'honest');
const WINDOWS = num('windows', DEFAULT_ROUNDS.windows);
const SCORE_WINDOWS = num('score-windows', DEFAULT_ROUNDS.scoreWindows);
const TRACK_TOKENS = num('track-tokens', 8192);
const POOL_TOKENS = num('pool-tokens', 200_000);
const GENESIS_BUDGET_BPB = num('genesis-budget', 0.01);
const THREADS = num('threads', 1);
const OUTER = { lr: num('outer-lr', DEFAULT_ROUNDS.outer.lr), momentum: num('momentum', DEFAULT_ROUNDS.outer.momentum) };
const SCREEN = { ...DEFAULT_ROUNDS.screen, own: { ...DEFAULT_ROUNDS.screen.own, margin: num('own-margin', DEFAULT_ROUNDS.screen.own.margin) } };
const TEST = DEFAULT_ROUNDS.test;
/** Share of each unit's micro-steps on a genesis train-split shard (replay), as the relay's units on a dataset carry it. */
const REPLAY = num('replay', DEFAULT_ROUNDS.dataset.replay);
const REPLAY_ERROR = replayFractionError(REPLAY);
if (REPLAY_ERROR !== null) throw new Error(`--replay: ${REPLAY_ERROR}`);
const HISTORY = DEFAULT_ROUNDS.history;
const SPLIT_KEY = 'blyan swarm bench: the hidden part of the SpamAssassin corpus';
const HIDDEN_FRACTION = 0.1;
/** Each mail is cut to its first characters: a few mails carry hundreds of kilobytes of attachments. */
const MAIL_CHARS = 4000;
const GENESIS = values.genesis ?? CANONICAL_GENESIS_DIR;
const PERBATCH = 8;

if (values.table === true) {
  const done = loadState<Saved>(join(OUT, 'state.bin'));
  if (done === null) throw new Error(`${OUT} holds no swarm run`);
  console.log(swarmReport(done.json.rows));
  process.exit(0);
}

const production = defaultAccountsConfig('http://localhost:5173', { hidden: () => [], train: () => [] });
const settings = { ...DEFAULT_CONTRIBUTE, steps: H };
mkdirSync(OUT, { recursive: true });
const progress = (line: string): void => {
  console.log(line);
  appendFileSync(join(OUT, 'progress.log'), `${line}\n`);
};

// The committed genesis, as the chain holds it (int8 experts rebuilt from the checkpoint).
const file = parseGenesisFile(JSON.parse(readFileSync(join(GENESIS, 'genesis.json'), 'utf8')), `${GENESIS}/genesis.json`);
const blocks = rebuildGenesis(file, readFileSync(join(GENESIS, 'checkpoint.tensors')), `${GENESIS}/checkpoint.tensors`);
const meta = parseMetaPayload(blocks[0]!.payload);
const cfg = meta.config;
const T = cfg.contextLength;
const tokenizer = Tokenizer.fromJSON(meta.tokenizer);
const encoding = meta.quantization.experts;
const plan = new Map(slotPlan(cfg).map((s) => [s.name, s]));
const heads = new Map<string, LoadedBlock>(blocks.slice(1).map((b) => [b.header.name, { header: b.header, payload: b.payload as Uint8Array<ArrayBuffer> }]));
const params = (): ParamMap => Object.assign({}, ...[...plan.values()].map((s) => slotParams(s, heads.get(s.name)!.payload)));
const model = OnnxModel.create(cfg, { intraOpThreads: THREADS });
/**
 * Experts per layer each window routes within, chosen from its unscored first part (the prompt):
 * the model's default budget, as the browser runs it; a model without budgets routes dynamically.
 */
const EXPERTS = num('experts', meta.routing.budgets?.default ?? cfg.nExperts);
if (EXPERTS !== cfg.nExperts && cfg.sequenceBudgets === undefined) throw new Error(`${GENESIS} has no sequence budgets: --experts must be ${cfg.nExperts}`);
/** Per-token losses of windows under `p`, each routing within EXPERTS experts per layer chosen from its prompt. */
const lossesUnder = (p: ParamMap): WindowLosses => budgetLosses(EXPERTS, { tokenLosses: (batch) => onnxTokenLosses(model, p, batch), dispose: async () => {} });
/** Windows of `length` that score their second half, their first half being the prompt that chooses the experts. */
const prompted = (windows: readonly Window[], length: number): Window[] => windows.map(({ start }) => ({ start, scoreFrom: Math.floor(length / 2) }));

// The new domain: a keyed split; the hidden part's first documents are the tracked set, the next the paired test's pool.
const mail = keyedSplit(spamAssassin().map((d) => ({ ...d, text: d.text.slice(0, MAIL_CHARS) })), SPLIT_KEY, HIDDEN_FRACTION);
const mailShards = shards(mail.public, production.shardDocs);
const newTrack = takeTokens(tokenizer, mail.hidden.map((d) => d.text), TRACK_TOKENS);
const newPool = takeTokens(tokenizer, newTrack.rest, POOL_TOKENS).set;
const corpus = loadCorpusSplit();
/** The genesis train split in the relay's shards (GET /v1/shards/:index): what units replay. */
const genesisShards = shards(corpus.train, production.shardDocs);
const genesisPassages = keyedSplit(hiddenPassages(corpus.hidden), SPLIT_KEY, 1).hidden.map((p) => p.text);
const oldTrack = takeTokens(tokenizer, genesisPassages, TRACK_TOKENS);
const oldPool = takeTokens(tokenizer, oldTrack.rest, POOL_TOKENS).set;
/** The genesis domain's budget in nats/token: GENESIS_BUDGET_BPB at the pool's bytes per token. */
const genesisBudget = bpbBudget(GENESIS_BUDGET_BPB, oldPool.bytes, oldPool.stream.length - 1);
const genesisParams = params();
/** Token streams of shards, each tokenized once. */
const shardStreams = (shards: readonly (readonly { text: string }[])[]): ((i: number) => Int32Array) => {
  const streams = new Map<number, Int32Array>();
  return (i) => {
    let s = streams.get(i);
    if (s === undefined) streams.set(i, (s = textSet(tokenizer, shards[i]!.map((d) => d.text)).stream));
    return s;
  };
};
const shardStream = shardStreams(mailShards);
const genesisShardStream = shardStreams(genesisShards);

/** Bits per byte of a set: strided windows of T scoring each target once with T / 2 tokens of context (the eval CLI's). */
async function bpb(set: TextSet, p: ParamMap): Promise<number> {
  const { length, windows } = stridedWindows(set.stream.length, T, T / 2);
  const { nats } = await scoreWindows(lossesUnder(p), set.stream, windows, length, PERBATCH);
  return nats / Math.LN2 / set.bytes;
}

/** Mean loss (nats/token) over each window's scored targets under `p`: what a paired test compares. */
const windowMeansUnder = (p: ParamMap, stream: Int32Array, windows: readonly Window[], length: number): Promise<number[]> => windowMeans(lossesUnder(p), stream, windows, length, PERBATCH);

/** Losses of `p` on `count` windows of `pool` drawn by a fresh seed, for base and candidate alike. */
async function pairedLosses(pool: TextSet, base: ParamMap, candidate: ParamMap, count: number): Promise<{ base: number[]; candidate: number[] }> {
  const windows = prompted(drawWindows(freshSample().seed, pool.stream.length, T, count), T);
  return { base: await windowMeansUnder(base, pool.stream, windows, T), candidate: await windowMeansUnder(candidate, pool.stream, windows, T) };
}

/** Share of the router's picks per expert slot on 4 windows of `stream` under the measured routing (CPU reference). */
function routedShare(p: ParamMap, stream: Int32Array): Map<string, number> {
  const B = 4;
  const inputs: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    const start = Math.floor((b * (stream.length - T - 1)) / B);
    inputs.push(...stream.subarray(start, start + T));
    targets.push(...stream.subarray(start + 1, start + T + 1));
  }
  const routing = cfg.sequenceBudgets ? { budgets: Array.from({ length: B }, () => ({ experts: EXPERTS, promptTokens: T / 2 })) } : [];
  const acts = forward(p, cfg, inputs, targets, B, T, routing);
  const share = new Map<string, number>();
  acts.layers.forEach(({ acts: a }, layer) => {
    for (const e of a.moe.experts) share.set(expertSlotName(layer, e), (share.get(expertSlotName(layer, e)) ?? 0) + 1 / a.moe.experts.length);
  });
  return share;
}

/**
 * The experts to train: those the router picks much more for the new domain than for the genesis
 * domain (share on mail minus share on genesis text, each window within its prompt's budget), so
 * training them on mail costs the genesis domain least.
 */
function mailExperts(p: ParamMap, count: number): string[] {
  const mailShare = routedShare(p, shardStream(0));
  const genesisShare = routedShare(p, oldPool.stream);
  return [...plan.values()]
    .filter((s) => s.type === 'expert')
    .map((s) => ({ name: s.name, score: (mailShare.get(s.name) ?? 0) - (genesisShare.get(s.name) ?? 0) }))
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name))
    .slice(0, count)
    .map((s) => s.name);
}

type Kind = 'honest' | 'noise' | 'sign-flip' | 'copy';
const ADVERSARY_KINDS: readonly Kind[] = ['noise', 'sign-flip', 'copy'];

// Resume, or start from the genesis with the baseline row.
const saved = loadState<Saved>(join(OUT, 'state.bin'));
let state: Saved;
const momentum = new Map<string, OuterState>();
const seen = new Map<string, Seen[]>();
if (saved !== null) {
  state = saved.json;
  for (const [slot, payload] of Object.entries(state.heads)) heads.set(slot, { header: heads.get(slot)!.header, payload: Uint8Array.from(Buffer.from(payload, 'base64')) });
  for (const slot of state.slots) {
    const m = saved.sets[`momentum:${slot}`];
    if (m !== undefined) momentum.set(slot, { momentum: m });
    seen.set(slot, (state.seen[slot] ?? []).map((s) => ({ id: s.id, hash: s.hash as Hash, change: saved.sets[`seen:${s.id}`]! })));
  }
  progress(`resumed ${OUT} after round ${state.round}`);
} else {
  const p = params();
  const slots = mailExperts(p, SLOTS);
  state = { round: 0, slots, rows: [], heads: {}, seen: {} };
  const t = performance.now();
  state.rows.push({ round: 0, contributors: 0, dropped: 0, copies: 0, accepted: 0, judged: 0, improvement: null, newBpb: await bpb(newTrack.set, p), oldBpb: await bpb(oldTrack.set, p), credit: 0, adversaryCredit: 0, seconds: (performance.now() - t) / 1000 });
  progress(
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; genesis ${GENESIS} (meta ${file.meta}); ${N} browsers, ${ROUNDS} rounds, H = ${H}, batch ${settings.batch} × ${settings.seqLen}, lr ${settings.lr}, density ${settings.density}, outer lr ${OUTER.lr} momentum ${OUTER.momentum}, replay ${REPLAY} of each unit's micro-steps on a genesis train shard, adversarial ${ADVERSARIAL}; ${CONTRIBUTORS} browsers per slot round, routing within ${EXPERTS} of ${cfg.nExperts} experts per layer chosen from each window's first half`,
  );
  progress(`new domain: ${mail.public.length} public mails in ${mailShards.length} shards (replay: ${genesisShards.length} genesis train shards), ${mail.hidden.length} hidden (tracked set ${newTrack.set.stream.length} tokens, pool ${newPool.stream.length}); genesis hidden: tracked ${oldTrack.set.stream.length} tokens, pool ${oldPool.stream.length}`);
  progress(`slots trained (routed most for mail relative to genesis text): ${slots.join(', ')}; genesis budget ${GENESIS_BUDGET_BPB} bpb = ${genesisBudget.toFixed(4)} nats/token`);
  progress(`round 0 (genesis): new-domain bpb ${state.rows[0]!.newBpb.toFixed(4)}, genesis-domain bpb ${state.rows[0]!.oldBpb.toFixed(4)}`);
}

const isAdversary = (b: number): boolean => ADVERSARIAL > 0 && Math.floor(b / state.slots.length) % Math.round(1 / ADVERSARIAL) === Math.round(1 / ADVERSARIAL) - 1;
/** Adversaries take the kinds in turn, so each kind appears in a run. */
const kindOf = (b: number): Kind => {
  if (!isAdversary(b)) return 'honest';
  const before = Array.from({ length: b }, (_, i) => i).filter(isAdversary).length;
  return ADVERSARY_KINDS[before % ADVERSARY_KINDS.length]!;
};
const keys = Array.from({ length: N }, () => privateKeyToAccount(generatePrivateKey()));

/** One browser's submission for `slot` on `shard`: trained (or forged, for an adversary), built and encoded as the browser does. */
async function contribute(b: number, slot: SlotPlan & { type: 'expert' }, shard: number, replayShard: number, base: LoadedBlock, p: ParamMap, copyOf: Uint8Array | undefined): Promise<Uint8Array> {
  const kind = kindOf(b);
  if (kind === 'copy' && copyOf !== undefined) return copyOf;
  let change: Record<string, Float32Array>;
  if (kind === 'noise') {
    change = Object.fromEntries(slot.tensors.map((t) => [t.name, Float32Array.from({ length: p[t.name]!.length }, () => (Math.random() - 0.5) * 0.2)]));
  } else {
    const trainer = ortTrainer(model, p, slot.layer, slot.expert, { batch: settings.batch, seqLen: settings.seqLen, adamw: { lr: settings.lr } });
    const replay = REPLAY > 0 ? { stream: genesisShardStream(replayShard), fraction: REPLAY } : null;
    const batches = unitBatches(shardStream(shard), replay, settings.batch, settings.seqLen);
    for (let step = 0; step < H; step++) {
      const { inputs, targets } = batches.at(step);
      await trainer.microStep(inputs, targets);
    }
    change = await trainer.change();
    if (kind === 'sign-flip') change = combine([change], [-1]);
  }
  const c = await buildCandidate(change, base, {
    meta: file.meta,
    slot,
    shard,
    encoding,
    density: Math.min(settings.density, production.maxDensity),
    maxRelativeNorm: production.maxRelativeNorm,
    signer: keys[b]!,
    account: keys[b]!.address,
    now: Date.now(),
  });
  return decodeBlock(c.body).payload;
}

/** One round of one slot: collect, score, aggregate, judge; the head and momentum move only on acceptance. */
async function slotRound(r: number, slotName: string, browsers: number[]) {
  const t0 = performance.now();
  const slot = plan.get(slotName)! as SlotPlan & { type: 'expert' };
  const base = heads.get(slotName)!;
  const p = params();
  const baseSlot = slotParams(slot, base.payload);
  const zeros = Object.fromEntries(Object.entries(baseSlot).map(([n, t]) => [n, new Float32Array(t.length)]));
  const submissions: Submission[] = [];
  let firstHonest: Uint8Array | undefined;
  for (const b of browsers) {
    const shard = (r * N + b) % mailShards.length;
    const bytes = await contribute(b, slot, shard, (r * N + b) % genesisShards.length, base, p, firstHonest);
    if (kindOf(b) === 'honest') firstHonest ??= bytes;
    const delta = decodeDelta(bytes);
    const stream = shardStream(shard);
    const length = Math.min(T, stream.length - 2);
    const windows = prompted(drawWindows(freshSample().seed, stream.length, length, SCORE_WINDOWS), length);
    const before = await windowMeansUnder(p, stream, windows, length);
    const after = await windowMeansUnder({ ...p, ...applyDelta(baseSlot, delta) }, stream, windows, length);
    submissions.push({ id: `${r}:${b}`, author: keys[b]!.address, hash: payloadHash(bytes), change: applyDelta(zeros, delta), before, after });
  }
  const agg = aggregate(submissions, seen.get(slotName) ?? [], momentum.get(slotName) ?? null, { ...SCREEN, ...OUTER });
  seen.set(slotName, [...(seen.get(slotName) ?? []).filter((s) => Number(s.id.split(':')[0]) > r - HISTORY), ...submissions.map(({ id, hash, change }) => ({ id, hash, change }))]);
  const dropped = agg.screened.filter((s) => s.status !== 'kept').length;
  const copies = agg.screened.filter((s) => s.status === 'copy').length;
  if (agg.outer === null) return { dropped, copies, accepted: false, improvement: null, credits: [] };
  const payload = encodeSlotPayload(slot, combine([baseSlot, agg.outer.step], [1, 1]), encoding) as Uint8Array<ArrayBuffer>;
  const candidate = { ...p, ...slotParams(slot, payload) };
  const fresh = await pairedLosses(newPool, p, candidate, WINDOWS);
  const old = await pairedLosses(oldPool, genesisParams, candidate, WINDOWS);
  const { improves, keeps, accepted } = twoDomainVerdict(fresh, old, { test: TEST, confidence: TEST.confidence, bound: genesisBudget });
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  progress(
    `  round ${r} ${slotName} (${seconds} s): ${agg.screened.map((s) => `${s.id}:${kindOf(Number(s.id.split(':')[1]))}:${s.status}:${s.improvement.toFixed(4)}`).join(' ')} | new ${improves.mean.toFixed(5)} (lower ${improves.lower.toFixed(5)}) genesis domain vs genesis ${keeps.mean.toFixed(5)} (lower ${keeps.lower.toFixed(5)}) → ${accepted ? 'accepted' : 'rejected'}`,
  );
  if (!accepted) return { dropped, copies, accepted, improvement: improves.mean, credits: [] };
  heads.set(slotName, { header: base.header, payload });
  momentum.set(slotName, agg.outer.state);
  const credits = roundCredit(agg.screened, Math.max(1, Math.round(improves.mean * production.creditPerNat)));
  return { dropped, copies, accepted, improvement: improves.mean, credits: credits.map((c) => ({ ...c, adversary: kindOf(Number(c.id.split(':')[1])) !== 'honest' })) };
}

for (let r = state.round + 1; r <= ROUNDS; r++) {
  const t = performance.now();
  const results = [];
  for (const [i, slotName] of state.slots.entries()) {
    const browsers = Array.from({ length: N }, (_, b) => b).filter((b) => b % state.slots.length === i);
    results.push(await slotRound(r, slotName, browsers));
  }
  const p = params();
  const credits = results.flatMap((x) => x.credits);
  const judged = results.filter((x) => x.improvement !== null);
  const row: Row = {
    round: r,
    contributors: N,
    dropped: results.reduce((s, x) => s + x.dropped, 0),
    copies: results.reduce((s, x) => s + x.copies, 0),
    accepted: results.filter((x) => x.accepted).length,
    judged: results.length,
    improvement: judged.length === 0 ? null : mean(judged.map((x) => x.improvement!)),
    newBpb: await bpb(newTrack.set, p),
    oldBpb: await bpb(oldTrack.set, p),
    credit: credits.reduce((s, c) => s + c.credit, 0),
    adversaryCredit: credits.filter((c) => c.adversary).reduce((s, c) => s + c.credit, 0),
    seconds: (performance.now() - t) / 1000,
  };
  state = {
    ...state,
    round: r,
    rows: [...state.rows, row],
    heads: Object.fromEntries(state.slots.map((s) => [s, Buffer.from(heads.get(s)!.payload).toString('base64')])),
    seen: Object.fromEntries(state.slots.map((s) => [s, (seen.get(s) ?? []).map(({ id, hash }) => ({ id, hash }))])),
  };
  const sets: Record<string, TensorSet> = {};
  for (const s of state.slots) {
    const m = momentum.get(s);
    if (m !== undefined) sets[`momentum:${s}`] = { ...m.momentum };
    for (const e of seen.get(s) ?? []) sets[`seen:${e.id}`] = { ...e.change };
  }
  saveState(join(OUT, 'state.bin'), state, sets);
  progress(
    `round ${r}: ${row.accepted}/${row.judged} slot rounds accepted, ${row.dropped} dropped (${row.copies} copies), new-domain bpb ${row.newBpb.toFixed(4)}, genesis-domain bpb ${row.oldBpb.toFixed(4)}, credit ${row.credit} (adversaries ${row.adversaryCredit}), ${row.seconds.toFixed(0)} s`,
  );
}

const report = swarmReport(state.rows);
writeFileSync(join(OUT, 'table.md'), `${report}\n`);
console.log(`\n${report}`);
await model.dispose();

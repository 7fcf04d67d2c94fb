/**
 * Contribution benchmark (not a test): delta size raw against compressed at several densities,
 * and the relay's cost per submission on the genesis configuration: intake (signature, delta
 * decode, candidate payload, commitments), the evaluation worker's paired forward passes (base and
 * candidate on the windows each submission's seed draws from the keyed pool), and how long the API
 * answers GET /v1/heads while evaluations run; then the paired per-token loss difference a delta
 * makes on one draw of windows, against the production δ. Weights
 * are a trained checkpoint's with --checkpoint, else initParams of the genesis config (evaluation
 * time does not depend on their values) with a tokenizer trained on the train split; the delta
 * comes from AdamW steps of one expert on its assigned shard.
 *
 *   pnpm exec tsx relay/bench/contribute.ts [--checkpoint FILE] [--windows 32] [--threads 1] [--steps 8] [--lr 1e-3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Address, type Block, type Hash, blockHash, buildBlock, encodeBlock } from '@blyan/block';
import { compression, encodeDelta, expertCandidate, sparsifyDelta } from '@blyan/delta';
import { GENESIS_CONFIG, type ParamMap, Tokenizer, initParams, trainTokenizer } from '@blyan/model';
import { genesisBlocks, slotParams, slotPlan } from '@blyan/model/blocks';
import { hashSplit } from '@blyan/model/data';
import { readCheckpoint, recordedSplits } from '@blyan/model/checkpoint';
import { evalStream, windowBatch } from '@blyan/model/eval';
import { SiweMessage } from 'siwe';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { formatTable } from '../src/cli/table.ts';
import { relayRules } from '../src/config.ts';
import { defaultAccountsConfig } from '../src/contributions/config.ts';
import { drawWindows, freshSample } from '../src/contributions/sample.ts';
import { corpusDocs } from '../src/corpus.ts';
import { openRelay } from '../src/relay.ts';
import { createApp } from '../src/server/app.ts';
import { trainExpert } from '../test/train-expert.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: { checkpoint: { type: 'string' }, windows: { type: 'string' }, threads: { type: 'string' }, submissions: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' } },
});
const windows = Number(values.windows ?? 32);
const threads = Number(values.threads ?? 1);
const submissions = Number(values.submissions ?? 5);
const STEPS = Number(values.steps ?? 8);
const LR = Number(values.lr ?? 1e-3);
const ORIGIN = 'http://localhost:5173';

/** The model to contribute to: a trained checkpoint, else untrained weights of the genesis shape. */
function startingModel() {
  if (values.checkpoint !== undefined) {
    const ckpt = readCheckpoint(values.checkpoint);
    return { model: { ...ckpt, splits: recordedSplits(ckpt, values.checkpoint) }, what: `trained checkpoint ${values.checkpoint}` };
  }
  const train = corpusDocs.train();
  const tokenizer = trainTokenizer(train.slice(0, 40).map((d) => d.text), GENESIS_CONFIG.vocabSize);
  const splits = { train: hashSplit(train), val: hashSplit([]), hidden: hashSplit(corpusDocs.hidden()) };
  return { model: { config: GENESIS_CONFIG, tokenizer, params: initParams(GENESIS_CONFIG, 1), splits }, what: 'untrained genesis-shape weights' };
}

console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`);
let t = performance.now();
const { model: start, what } = startingModel();
const cfg = start.config;
const tokenizer = start.tokenizer;
const genesisKey = privateKeyToAccount(generatePrivateKey());
const evaluatorKey = privateKeyToAccount(generatePrivateKey());
const genesis = await genesisBlocks(start, genesisKey, { trust: { authorities: [genesisKey.address], evaluators: [evaluatorKey.address] } });
console.log(`setup (${what}, ${genesis.length} genesis blocks): ${((performance.now() - t) / 1000).toFixed(1)} s`);

const dir = await mkdtemp(join(tmpdir(), 'blyan-bench-'));
// δ = ∞: every submission is judged against the same head, so each pays a full evaluation.
const production = defaultAccountsConfig(ORIGIN, corpusDocs);
const config = { ...production, minImprovement: Number.POSITIVE_INFINITY, maxRelativeNorm: 10, rateLimit: { max: 1000, windowMs: 60_000 }, eval: { ...production.eval, windows, threads } };
const relay = await openRelay(dir, relayRules(64 << 20), config, evaluatorKey);
for (const b of genesis) {
  const r = await relay.ledger.submit(b);
  if (!r.ok) throw new Error(r.message);
}
const app = createApp({ ...relay, maxPayloadBytes: 64 << 20 });
const meta = blockHash(genesis[0]!.header);

/** A fresh wallet signed in with a fresh session key, and its assignment. */
async function signIn() {
  const wallet = privateKeyToAccount(generatePrivateKey());
  const key = privateKeyToAccount(generatePrivateKey());
  const { nonce } = (await (await app.request('/v1/auth/nonce', { method: 'POST' })).json()) as { nonce: string };
  const now = Date.now();
  const message = new SiweMessage({
    domain: 'localhost:5173',
    address: wallet.address,
    uri: ORIGIN,
    version: '1',
    chainId: 1,
    nonce,
    issuedAt: new Date(now).toISOString(),
    expirationTime: new Date(now + 3600_000).toISOString(),
    resources: [`urn:blyan:session-key:${key.address}`],
  }).prepareMessage();
  const login = await app.request('/v1/auth/login', { method: 'POST', body: JSON.stringify({ message, signature: await wallet.signMessage({ message }), key_signature: await key.signMessage({ message }) }) });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const assignment = (await (await app.request('/v1/assignment', { headers: { cookie } })).json()) as { slot: string; base: string; shard: { index: number; url: string } };
  return { wallet, key, cookie, assignment };
}

/** Signs in fresh accounts until one is assigned `slotName` (slots are assigned in turn). */
async function assignedTo(slotName: string) {
  for (;;) {
    const s = await signIn();
    if (s.assignment.slot === slotName) return s;
  }
}

const first = await signIn();
const a = first.assignment;
const slot = slotPlan(cfg).find((s) => s.name === a.slot)!;
const base: Block = genesis.find((b) => blockHash(b.header) === a.base)!;

// A real delta: AdamW steps of the assigned expert on its shard (ORT train graph).
t = performance.now();
const params: ParamMap = {};
for (const b of genesis.slice(1)) Object.assign(params, slotParams(slotPlan(cfg).find((s) => s.name === b.header.name)!, b.payload));
const shard = (await (await app.request(a.shard.url)).json()) as { docs: { text: string }[] };
const stream = evalStream(Tokenizer.fromJSON(tokenizer.toJSON()), shard.docs.map((d) => d.text));
const B = 4;
const T = cfg.contextLength;
const tuned = await trainExpert(cfg, params, slot, stream, { steps: STEPS, B, lr: LR, stride: 104729, threads: 2 });
const baseParams = slotParams(slot, base.payload);
console.log(`${STEPS} AdamW steps of ${a.slot} (B=${B}, T=${T}, lr ${LR}) on ORT: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);

const densities = [0.01, 0.05, 0.1, 0.25];
const rows: string[][] = [];
for (const density of densities) {
  const delta = sparsifyDelta(baseParams, tuned, density);
  const bytes = encodeDelta(delta);
  const c = compression(delta, bytes.length);
  rows.push([`${density * 100}%`, String(c.entries), `${(c.rawBytes / 1024).toFixed(0)} KiB`, `${(bytes.length / 1024).toFixed(1)} KiB`, `${c.ratio.toFixed(1)}×`, `${((8 * bytes.length) / c.entries).toFixed(1)}`]);
}
console.log(`Delta of one expert (${slot.tensors.map((s) => s.shape.join('×')).join(', ')}): raw f32 against blyan-delta-v1`);
console.log(formatTable(['top-k density', 'entries', 'raw f32', 'encoded', 'ratio', 'bits/entry'], rows));

// Serving while the worker evaluates: GET /v1/heads latency, sampled back to back.
const latencies: number[] = [];
let evaluating = true;
const prober = (async () => {
  while (evaluating) {
    const s = performance.now();
    await app.request('/v1/heads');
    latencies.push(performance.now() - s);
    await new Promise((r) => setTimeout(r, 5));
  }
})();

// Each submission: its own account assigned the slot (an assignment takes one contribution), and
// its own delta (the relay judges a delta once): the trained change scaled a little differently.
const submitted = densities.filter((d) => d <= config.maxDensity);
const sessions = [first, ...(await Promise.all(Array.from({ length: submissions - 1 }, () => assignedTo(a.slot))))];
const intake: number[] = [];
const ids: number[] = [];
for (const [i, who] of sessions.entries()) {
  const scale = 1 + i / 1000;
  const delta = sparsifyDelta(baseParams, Object.fromEntries(Object.entries(tuned).map(([n, w]) => [n, w.map((x, j) => baseParams[n]![j]! + scale * (x - baseParams[n]![j]!))])), submitted[i % submitted.length]!);
  const block = await buildBlock(
    { type: 'expert', index: 1, name: a.slot, depends_on: [meta, a.base as Hash], prev: a.base as Hash, payload: expertCandidate(slot, base.payload, delta, 'int8'), meta: { encoding: 'tensors-v1', shard: who.assignment.shard.index } },
    who.key,
    who.wallet.address.toLowerCase() as Address,
  );
  const body = encodeBlock({ header: block.header, payload: encodeDelta(delta) });
  const s = performance.now();
  const res = await app.request('/v1/contributions', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { cookie: who.cookie } });
  intake.push(performance.now() - s);
  const json = (await res.json()) as { id: number; error?: { message: string } };
  if (res.status !== 202) throw new Error(`submission refused: ${json.error?.message}`);
  ids.push(json.id);
}
t = performance.now();
await relay.accounts.judging.drain();
const wall = performance.now() - t;
evaluating = false;
await prober;
const views = await Promise.all(ids.map(async (id) => (await relay.accounts.contributions.get(id))!));
const evalMs = views.map((v) => v.figures!.ms).sort((x, y) => x - y);
const tokens = views[0]!.figures!.tokens;
console.log(`\nRelay cost per submission (${submissions} submissions; each draws ${windows} windows × ${T} tokens = ${tokens} tokens from the keyed pool; ORT ${threads} thread(s))`);
console.log(
  formatTable(
    ['metric', 'value'],
    [
      ['intake (POST /v1/contributions → 202), median', `${median(intake).toFixed(0)} ms`],
      ['evaluation of one candidate (base and candidate forward on its drawn windows), median', `${median(evalMs).toFixed(0)} ms`],
      ['evaluation tokens/s (both passes)', `${(((2 * tokens) / median(evalMs)) * 1000).toFixed(0)}`],
      ['queue wall time for all, incl. params assembly and verdict signing', `${(wall / 1000).toFixed(2)} s (${(wall / submissions).toFixed(0)} ms per submission)`],
      ['GET /v1/heads while evaluating: median / max', `${median(latencies).toFixed(1)} / ${Math.max(...latencies).toFixed(1)} ms (${latencies.length} requests)`],
    ],
  ),
);

// The spread that δ must clear: paired per-token loss differences, baseline against one candidate.
const ev = relay.accounts.evaluator;
const ctx = await ev.context(meta);
const heads = await relay.index.paramIndex(meta);
const baseModel = await ev.assemble(ctx, heads);
const candidate = { ...baseModel, ...slotParams(slot, expertCandidate(slot, base.payload, sparsifyDelta(baseParams, tuned, 0.05), 'int8')) };
const diffs: number[] = [];
const drawn = drawWindows(freshSample().seed, ctx.stream.length, ctx.length, windows);
for (let i = 0; i < drawn.length; i += 8) {
  const b = windowBatch(ctx.stream, drawn.slice(i, i + 8), ctx.length);
  const [x, y] = await Promise.all([baseModel, candidate].map(async (p) => tokenLosses((await ctx.model.forward(p, { tokens: b.inputs, targets: b.targets, B: b.B, T: b.T })).logits, b.targets)));
  for (let i = 0; i < x!.length; i++) diffs.push(x![i]! - y![i]!);
}
const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
const sd = Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (diffs.length - 1));
console.log(`\nPaired per-token loss difference, baseline − candidate (5 % delta), ${diffs.length} hidden tokens: mean ${mean.toExponential(2)}, sd ${sd.toExponential(2)}, standard error ${(sd / Math.sqrt(diffs.length)).toExponential(2)} nats`);
console.log(`production δ = ${production.minImprovement} nats/token: this delta would be ${mean >= production.minImprovement ? 'accepted' : 'rejected'}`);
await relay.close();
await rm(dir, { recursive: true, force: true });

/** Cross-entropy per position of logits [n, V] (log-sum-exp minus the target's logit). */
function tokenLosses(logits: Float32Array, targets: Int32Array): Float64Array {
  const V = cfg.vocabSize;
  const out = new Float64Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[i * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[i * V + v]! - max);
    out[i] = max + Math.log(sum) - logits[i * V + targets[i]!]!;
  }
  return out;
}

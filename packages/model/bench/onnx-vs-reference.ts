/**
 * Forward (prefill of B × T tokens, with loss), decode and training-step throughput of the
 * TypeScript reference against the generated ONNX graphs on onnxruntime-node's CPU provider, on
 * the genesis config. Decode: DECODE tokens after a PROMPT-token prompt, one sequence; the
 * reference keeps a KV cache, the ONNX forward graph has none and recomputes the prefix per token.
 *
 *   pnpm exec tsx packages/model/bench/onnx-vs-reference.ts [--batch 4] [--reps 5] [--threads 2] [--spin 0]
 *
 * ONNX Runtime: two warm-up runs, then the median of --reps timed runs; the reference is slow, so
 * it is timed once per phase. The load average is printed because other processes on the machine
 * skew wall-clock times.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { OnnxModel } from '../src/onnx/session.ts';
import { type ModelConfig, Rng, adamwStep, argmax, backward, createAdamW, decodeStep, forward, initParams, prefill } from '../src/reference/index.ts';
import { GENESIS_CONFIG } from '../src/train/genesis-config.ts';
import { median } from '../../../relay/bench/stats.ts';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '4' }, reps: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' }, spin: { type: 'string', default: '0' } } });
const B = Number(values.batch);
const reps = Number(values.reps);
const threads = Number(values.threads);
const allowSpinning = values.spin === '1';

const cfg: ModelConfig = GENESIS_CONFIG;
const PROMPT = 16;
const DECODE = 48;
const T = cfg.contextLength;
const rng = new Rng(1);
const ids = (): number[] => Array.from({ length: B * T }, () => rng.nextUint32() % cfg.vocabSize);
const batch = { tokens: ids(), targets: ids(), B, T };
const LR = 1e-3;

async function seconds(run: () => unknown): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

async function medianSeconds(count: number, run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await seconds(run));
  return median(times);
}

function referenceTimes(): { forward: number; train: number; decode: number } {
  const params = initParams(cfg, 1);
  const decodeStart = performance.now();
  const first = prefill(params, cfg, batch.tokens.slice(0, PROMPT));
  for (let i = 0, logits = first.logits; i < DECODE; i++) logits = decodeStep(first.state, argmax(logits));
  const decode = (performance.now() - decodeStart) / 1000;
  const opt = createAdamW(params, cfg);
  let start = performance.now();
  forward(params, cfg, batch.tokens, batch.targets, B, T);
  const fwd = (performance.now() - start) / 1000;
  start = performance.now();
  const acts = forward(params, cfg, batch.tokens, batch.targets, B, T);
  adamwStep(opt, params, backward(params, cfg, acts), { lr: LR });
  return { forward: fwd, train: (performance.now() - start) / 1000, decode };
}

/** Greedy decoding with the forward graph alone: every token re-runs the whole prefix. */
async function onnxDecode(model: OnnxModel, params: Readonly<Record<string, unknown>>): Promise<number> {
  const seq = batch.tokens.slice(0, PROMPT);
  const start = performance.now();
  for (let i = 0; i < DECODE; i++) {
    const { logits } = await model.forward(params, { tokens: seq, targets: seq, B: 1, T: seq.length });
    seq.push(argmax(logits.subarray((seq.length - 1) * cfg.vocabSize)));
  }
  return (performance.now() - start) / 1000;
}

async function onnxTimes(): Promise<{ forward: number; train: number; decode: number; setup: number }> {
  const model = OnnxModel.create(cfg, { intraOpThreads: threads, allowSpinning });
  const params = initParams(cfg, 1);
  const state = model.createTrainState(initParams(cfg, 1));
  const setup = (await seconds(() => model.forward(params, batch))) + (await seconds(() => model.trainStep(state, batch, LR)));
  await model.forward(params, batch);
  await model.trainStep(state, batch, LR);
  const fwd = await medianSeconds(reps, () => model.forward(params, batch));
  const train = await medianSeconds(reps, () => model.trainStep(state, batch, LR));
  const decode = await onnxDecode(model, params);
  await model.dispose();
  return { forward: fwd, train, decode, setup };
}

const load = loadavg()[0]!.toFixed(2);
const onnx = await onnxTimes();
const ref = referenceTimes();
const tokens = B * T;
const rate = (perSecond: number): string => Math.round(perSecond).toLocaleString('en-US');
const rows = [
  ['forward (prefill B×T, with loss)', tokens / ref.forward, tokens / onnx.forward],
  [`decode (${DECODE} tokens after ${PROMPT}; ONNX without KV cache)`, DECODE / ref.decode, DECODE / onnx.decode],
  ['training step (fwd + bwd + AdamW)', tokens / ref.train, tokens / onnx.train],
] as const;
console.log(`config: V ${cfg.vocabSize}, d ${cfg.dModel}, ${cfg.nLayers} layers, ${cfg.nHeads} heads, ${cfg.nExperts} experts (top-${cfg.topK}), dFF ${cfg.dFF}; B ${B} × T ${T} = ${tokens} tokens`);
console.log(`onnxruntime-node ${threads} intra-op threads (spinning ${allowSpinning ? 'on' : 'off'}); graph build + session creation + first runs ${onnx.setup.toFixed(2)} s; load average at start ${load}`);
console.log('');
console.log('| tokens/s | TypeScript reference | onnxruntime-node | ratio |');
console.log('|---|---:|---:|---:|');
for (const [label, r, o] of rows) console.log(`| ${label} | ${rate(r)} | ${rate(o)} | ${(o / r).toFixed(1)}× |`);

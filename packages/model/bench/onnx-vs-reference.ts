/**
 * Forward (prefill of B × T tokens, with loss) and training-step throughput of the TypeScript
 * reference against the generated ONNX graphs on onnxruntime-node's CPU provider.
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
import { type ModelConfig, Rng, adamwStep, backward, createAdamW, forward, initParams } from '../src/reference/index.ts';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '4' }, reps: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' }, spin: { type: 'string', default: '0' } } });
const B = Number(values.batch);
const reps = Number(values.reps);
const threads = Number(values.threads);
const allowSpinning = values.spin === '1';

const cfg: ModelConfig = { vocabSize: 4096, dModel: 128, nLayers: 4, nHeads: 4, nExperts: 8, topK: 2, dFF: 384, contextLength: 256, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
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

async function median(count: number, run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await seconds(run));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function referenceTimes(): { forward: number; train: number } {
  const params = initParams(cfg, 1);
  const opt = createAdamW(params, cfg);
  let start = performance.now();
  forward(params, cfg, batch.tokens, batch.targets, B, T);
  const fwd = (performance.now() - start) / 1000;
  start = performance.now();
  const acts = forward(params, cfg, batch.tokens, batch.targets, B, T);
  adamwStep(opt, params, backward(params, cfg, acts), { lr: LR });
  return { forward: fwd, train: (performance.now() - start) / 1000 };
}

async function onnxTimes(): Promise<{ forward: number; train: number; setup: number }> {
  const model = OnnxModel.create(cfg, { intraOpThreads: threads, allowSpinning });
  const params = initParams(cfg, 1);
  const state = model.createTrainState(initParams(cfg, 1));
  const setup = (await seconds(() => model.forward(params, batch))) + (await seconds(() => model.trainStep(state, batch, LR)));
  await model.forward(params, batch);
  await model.trainStep(state, batch, LR);
  const fwd = await median(reps, () => model.forward(params, batch));
  const train = await median(reps, () => model.trainStep(state, batch, LR));
  await model.dispose();
  return { forward: fwd, train, setup };
}

const load = loadavg()[0]!.toFixed(2);
const onnx = await onnxTimes();
const ref = referenceTimes();
const tokens = B * T;
const rate = (s: number): string => Math.round(tokens / s).toLocaleString('en-US');
const rows = [
  ['forward (prefill B×T, with loss)', ref.forward, onnx.forward],
  ['training step (fwd + bwd + AdamW)', ref.train, onnx.train],
] as const;
console.log(`config: V ${cfg.vocabSize}, d ${cfg.dModel}, ${cfg.nLayers} layers, ${cfg.nHeads} heads, ${cfg.nExperts} experts (top-${cfg.topK}), dFF ${cfg.dFF}; B ${B} × T ${T} = ${tokens} tokens`);
console.log(`onnxruntime-node ${threads} intra-op threads (spinning ${allowSpinning ? 'on' : 'off'}); graph build + session creation + first runs ${onnx.setup.toFixed(2)} s; load average at start ${load}`);
console.log('');
console.log('| tokens/s | TypeScript reference | onnxruntime-node | ratio |');
console.log('|---|---:|---:|---:|');
for (const [label, r, o] of rows) console.log(`| ${label} | ${rate(r)} | ${rate(o)} | ${(r / o).toFixed(0)}× |`);

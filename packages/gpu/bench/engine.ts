/**
 * Decode, prefill and training speed of the WebGPU engine next to the CPU reference, on genesis
 * v2's config with random weights, routed as v2's default budget mode (6 of 16 experts per layer
 * chosen from the prompt), or v1's (`tsx bench/engine.ts genesis`, dynamic top-2), or a small one
 * (`… small`), at each precision on each adapter: on a machine without a GPU, lavapipe (f16 and
 * f32) and SwiftShader (f32), whichever are installed (or the one named: `… genesis 16 lavapipe`); with VK_ICD_FILENAMES set (a real GPU), its
 * adapter at f16 (with shader-f16) and f32. Prints tokens/s, prefill ms at 16-256 tokens in one
 * pass against a per-token loop, batched decode of 1, 4 and 16 sequences (dynamic, and each
 * sequence with its own expert budget), ms per training micro-step + AdamW step, their GPU / CPU ratios,
 * what the engine encodes per decode token, per prompt and per training micro-step (dispatches,
 * bytes read and written: counted, not timed) next to the model's active weight bytes, and how
 * many greedy tokens equal the reference's.
 */
import { fileURLToPath } from 'node:url';
import { type TensorMap, quantizeInt8, toF32 } from '@blyan/block';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import type { DispatchCounts } from '../src/kernel.ts';
import { GpuUnavailableError } from '../src/errors.ts';
import { type SoftwareDriver, nodeGpuDevice } from '../src/node-device.ts';
import { activeWeightBytes } from '../src/weights.ts';
import { GENESIS_CONFIG, type ModelConfig, type ParamMap, Rng, type Routing, adamwStep, argmax, backward, budgetRouting, createAdamW, decodeStep, expertTensorNames, forward, initParams, parameterShapes, prefill } from '@blyan/model';
import { median } from '../../../relay/bench/stats.ts';

const CONFIGS: Record<string, ModelConfig> = {
  'genesis-v2': readCheckpoint(fileURLToPath(new URL('../../../public/genesis-v2/checkpoint.tensors', import.meta.url))).config,
  genesis: GENESIS_CONFIG,
  small: { vocabSize: 1024, dModel: 64, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 192, contextLength: 128, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 },
};
const name = process.argv[2] ?? 'genesis-v2';
const cfg = CONFIGS[name];
if (!cfg) throw new Error(`unknown config ${name}; one of ${Object.keys(CONFIGS).join(', ')}`);
/** Genesis v2's default budget: 6 of 16 experts per layer, chosen from the prompt; dynamic routing for models without budgets. */
const ROUTING: Routing = cfg.sequenceBudgets ? budgetRouting(6, cfg) : { mode: 'dynamic' };
const PROMPT = 16;
/** Prompt lengths of the prefill table (up to the context). */
const PREFILLS = [16, 48, 128, 256].filter((n) => n <= cfg.contextLength);
const DECODE = Math.min(Number(process.argv[3] ?? 32), cfg.contextLength - PROMPT);
/** The software adapters to measure (`… genesis 16 lavapipe`: that one only). */
const DRIVERS = (['lavapipe', 'swiftshader'] as const).filter((d) => process.argv[4] === undefined || process.argv[4] === d);
const [B, T] = [4, 32];
const ADAMW = { lr: 1e-3 };

function model(): { params: ParamMap; tensors: TensorMap } {
  const params = initParams(cfg!, 1);
  const tensors: TensorMap = {};
  for (const { name: n, shape } of parameterShapes(cfg!)) {
    const value = params[n]!;
    if (n.includes('.experts.')) {
      const q = quantizeInt8(value, [...shape]);
      tensors[n] = q;
      params[n] = toF32(q);
    } else tensors[n] = { dtype: 'f32', shape: [...shape], data: value };
  }
  return { params, tensors };
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;
/** GPU timings are the median of this many rounds (software drivers share the CPU with everything else). */
const ROUNDS = 3;

const { params, tensors } = model();
const rng = new Rng(7);
const prompt = Array.from({ length: PROMPT }, () => rng.nextUint32() % cfg.vocabSize);
const longPrompt = Array.from({ length: PREFILLS.at(-1)! }, () => rng.nextUint32() % cfg.vocabSize);
const batch = Array.from({ length: 2 * B * T }, () => rng.nextUint32() % cfg.vocabSize);
const inputs = batch.slice(0, B * T);
const targets = batch.slice(B * T);

let t0 = performance.now();
const cpuPrefill = prefill(params, cfg, prompt, ROUTING);
const cpuPrefillS = seconds(t0);
t0 = performance.now();
let logits = cpuPrefill.logits;
const cpuTokens: number[] = [];
for (let i = 0; i < DECODE; i++) {
  const t = argmax(logits);
  cpuTokens.push(t);
  logits = decodeStep(cpuPrefill.state, t);
}
const cpuDecodeS = seconds(t0);

const acts0 = forward(params, cfg, inputs, targets, B, T);
const layer = cfg.nLayers - 2;
const expert = acts0.layers[layer]!.acts.moe.groups.findIndex((g) => g.tokens.length > 0);
const names = Object.values(expertTensorNames(layer, expert));
const opt = createAdamW(params, cfg, names);
t0 = performance.now();
const acts = forward(params, cfg, inputs, targets, B, T);
adamwStep(opt, params, backward(params, cfg, acts), ADAMW);
const cpuTrainS = seconds(t0);

interface Run {
  readonly adapter: string;
  readonly precision: Precision;
  readonly createS: number;
  /** Decoding with the fused one-token pass and with the per-operation one. */
  readonly fused: Decoding;
  readonly perOperation: Decoding;
  /** Prefill of each PREFILLS length on the adapter's default pass. */
  readonly prefills: readonly Prefill[];
  readonly batches: readonly Batched[];
  readonly trainS: number;
  readonly microCounts: DispatchCounts;
}

/** The engine's dispatch counters encoded by `f`, divided by `per`. */
async function counted(engine: BlyanEngine, per: number, f: () => Promise<unknown>): Promise<DispatchCounts> {
  const before = { ...engine.counters };
  await f();
  const c = engine.counters;
  const delta = (k: keyof DispatchCounts) => (c[k] - before[k]) / per;
  return { dispatches: delta('dispatches'), bytesRead: delta('bytesRead'), bytesWritten: delta('bytesWritten') };
}

interface Decoding {
  readonly prefillS: number;
  readonly decodeS: number;
  readonly submissions: number;
  readonly readbacks: number;
  /** Per decode token, the mean over DECODE − 1 tokens after the first. */
  readonly counts: DispatchCounts;
  /** Greedy tokens equal to the reference's before the first difference. */
  readonly equal: number;
}

/** Prefill and greedy decode on `engine` (medians of ROUNDS), with what a decode token encodes. */
async function decoding(engine: BlyanEngine): Promise<Decoding> {
  await engine.prefill(prompt, ROUTING);
  await engine.readLogits();
  for await (const _ of engine.generate({ maxTokens: 1, sampling: { temperature: 0 } }));
  const counts = await counted(engine, DECODE - 1, async () => {
    for await (const _ of engine.generate({ maxTokens: DECODE - 1, sampling: { temperature: 0 } }));
  });
  const prefills: number[] = [];
  const decodes: number[] = [];
  let tokens: number[] = [];
  let [submissions, readbacks] = [0, 0];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    await engine.prefill(prompt, ROUTING);
    prefills.push(seconds(t));
    tokens = [];
    const before = { ...engine.counters };
    t = performance.now();
    for await (const token of engine.generate({ maxTokens: DECODE, sampling: { temperature: 0 } })) tokens.push(token);
    decodes.push(seconds(t));
    submissions += (engine.counters.submissions - before.submissions) / (ROUNDS * DECODE);
    readbacks += (engine.counters.readbacks - before.readbacks) / (ROUNDS * DECODE);
  }
  const equal = tokens.findIndex((token, i) => token !== cpuTokens[i]);
  return { prefillS: median(prefills), decodeS: median(decodes), submissions, readbacks, counts, equal: equal < 0 ? DECODE : equal };
}

interface Prefill {
  readonly tokens: number;
  /** The prompt in one pass (prefill) and token by token (prefill of the first, then extend by one at a time): seconds, medians of ROUNDS. */
  readonly batchedS: number;
  readonly perTokenS: number;
  readonly batched: DispatchCounts;
  readonly perToken: DispatchCounts;
}

/** Prefill of each PREFILLS length in one pass and as a per-token loop, both leaving the same KV cache. */
async function prefilling(engine: BlyanEngine): Promise<Prefill[]> {
  const out: Prefill[] = [];
  for (const n of PREFILLS) {
    const tokens = longPrompt.slice(0, n);
    const oneByOne = async () => {
      await engine.prefill(tokens.slice(0, 1), ROUTING);
      for (let i = 1; i < n; i++) await engine.extend(tokens.slice(i, i + 1));
      await engine.readLogits();
    };
    const atOnce = async () => {
      await engine.prefill(tokens, ROUTING);
      await engine.readLogits();
    };
    const [batched, perToken] = [await counted(engine, 1, atOnce), await counted(engine, 1, oneByOne)];
    const time = async (f: () => Promise<void>) => {
      const xs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const t = performance.now();
        await f();
        xs.push(seconds(t));
      }
      return median(xs);
    };
    out.push({ tokens: n, batchedS: await time(atOnce), perTokenS: await time(oneByOne), batched, perToken });
  }
  return out;
}

/** Batch sizes of the batched decode table. */
const BATCHES = [1, 4, 16];

/**
 * Expert budgets of the batched table's budget rows, sequence r keeping BUDGETS[r mod 3] experts
 * per layer chosen from its prompt: genesis v2's default (6 of 16) and low-bandwidth (3 of 16)
 * modes and none (every expert); for a model without budgets, halfway between topK and all, topK, and all.
 */
const BUDGETS = cfg.sequenceBudgets ? [6, 3, cfg.nExperts] : [Math.ceil((cfg.nExperts + cfg.topK) / 2), cfg.topK, cfg.nExperts];
const budgetOf = (row: number): Routing => budgetRouting(BUDGETS[row % BUDGETS.length]!, cfg!);

interface BatchedRun {
  /** Seconds of DECODE − 1 steps after the first (prompts loaded, first tokens sampled); median of ROUNDS. */
  readonly stepsS: number;
  /** Per step. */
  readonly counts: DispatchCounts;
}

interface Batched {
  readonly sequences: number;
  /** Every sequence routed dynamically, and each with its budget (budgetOf). */
  readonly dynamic: BatchedRun;
  readonly budgets: BatchedRun;
}

/** Batched greedy decoding of BATCHES[i] different 16-token prompts, DECODE tokens each, dynamic and with budgets. */
async function batching(engine: BlyanEngine): Promise<Batched[]> {
  const batch = await engine.createBatch(BATCHES.at(-1)!);
  const timed = async (prompts: number[][], routings: readonly Routing[]): Promise<BatchedRun> => {
    const xs: number[] = [];
    let counts: DispatchCounts | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      const steps = batch.generate(prompts, { maxTokens: DECODE, sampling: { temperature: 0 }, routings });
      await steps.next();
      const t = performance.now();
      const c = await counted(engine, DECODE - 1, async () => {
        for await (const _ of steps);
      });
      xs.push(seconds(t));
      counts ??= c;
    }
    return { stepsS: median(xs), counts: counts! };
  };
  const out: Batched[] = [];
  for (const sequences of BATCHES) {
    const prompts = Array.from({ length: sequences }, (_, r) => longPrompt.slice(r, r + PROMPT));
    const dynamic = await timed(prompts, prompts.map(() => ({ mode: 'dynamic' })));
    const budgets = await timed(prompts, prompts.map((_, r) => budgetOf(r)));
    out.push({ sequences, dynamic, budgets });
  }
  return out;
}

/** On one adapter and precision: decode with the fused and the per-operation pass, prefill, batched decode, then training. */
async function run(device: GPUDevice, adapter: string, precision: Precision): Promise<Run> {
  const baseline = await BlyanEngine.create(device, cfg!, { precision, decode: 'per-operation' });
  baseline.load(tensors);
  const perOperation = await decoding(baseline);
  let t = performance.now();
  const engine = await BlyanEngine.create(device, cfg!, { precision, decode: 'fused' });
  engine.load(tensors);
  const createS = seconds(t);
  const fused = await decoding(engine);
  const prefills = await prefilling(device.adapterInfo.isFallbackAdapter ? baseline : engine);
  const batches = await batching(baseline);
  baseline.destroy();
  const trainer = await engine.createTrainer({ layer, expert, batch: B, seqLen: T, adamw: ADAMW });
  const microCounts = await counted(engine, 1, () => trainer.microStep(inputs, targets));
  await trainer.step();
  const trains: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    t = performance.now();
    await trainer.microStep(inputs, targets);
    await trainer.step();
    trains.push(seconds(t));
  }
  engine.destroy();
  return { adapter, precision, createS, fused, perOperation, prefills, batches, trainS: median(trains), microCounts };
}

/**
 * The adapters to measure, each with its precisions. Lavapipe goes before SwiftShader: once a
 * SwiftShader device exists in the process, lavapipe runs many times slower.
 */
async function* devices(): AsyncGenerator<{ device: GPUDevice; adapter: string; precisions: Precision[] }> {
  const precisions = (device: GPUDevice): Precision[] => (device.features.has('shader-f16') ? ['f16', 'f32'] : ['f32']);
  if (process.env.VK_ICD_FILENAMES !== undefined) {
    const device = await nodeGpuDevice();
    yield { device, adapter: device.adapterInfo.description || device.adapterInfo.vendor, precisions: precisions(device) };
    return;
  }
  const names: Record<SoftwareDriver, string> = { lavapipe: 'lavapipe', swiftshader: 'SwiftShader' };
  for (const driver of DRIVERS) {
    let device: GPUDevice;
    try {
      device = await nodeGpuDevice(driver);
    } catch (e) {
      if (!(e instanceof GpuUnavailableError)) throw e;
      console.log(`(${names[driver]} skipped: ${e.message})`);
      continue;
    }
    yield { device, adapter: names[driver], precisions: precisions(device) };
  }
}

const runs: Run[] = [];
for await (const { device, adapter, precisions } of devices()) {
  for (const precision of precisions) runs.push(await run(device, adapter, precision));
  device.destroy();
}

const cell = (value: string, ratio: number | null) => (ratio === null ? value : `${value} (${ratio.toFixed(2)}×)`);
const row = (what: string, cpu: string, gpu: (r: Run) => string) => `| ${what} | ${cpu} | ${runs.map(gpu).join(' | ')} |`;
const header = () => [row('', 'CPU reference', (r) => `${r.adapter} ${r.precision}`), row('---', '---', () => '---')].join('\n');
const routing = ROUTING.mode === 'static-prompt' ? `static-prompt, ${ROUTING.expertsPerLayer} of ${cfg.nExperts} experts per layer` : 'dynamic';
console.log(`config ${name}: V=${cfg.vocabSize} d=${cfg.dModel} L=${cfg.nLayers} H=${cfg.nHeads} E=${cfg.nExperts} top-${cfg.topK} dFF=${cfg.dFF} ctx=${cfg.contextLength}; routing ${routing}; WebGPU through Dawn`);
console.log(`greedy decode of ${DECODE} tokens after a ${PROMPT}-token prompt; training: expert ${expert} of layer ${layer}, batch ${B}×${T}, micro-step + AdamW step; (×) = speed relative to the CPU reference\n`);
console.log(header());
console.log(row('engine created + loaded (s)', '', (r) => r.createS.toFixed(2)));
console.log(row(`prefill, ${PROMPT} tokens (ms)`, (cpuPrefillS * 1e3).toFixed(1), (r) => cell((r.fused.prefillS * 1e3).toFixed(1), cpuPrefillS / r.fused.prefillS)));
console.log(row('decode, per-operation pass (tokens/s)', (DECODE / cpuDecodeS).toFixed(1), (r) => cell((DECODE / r.perOperation.decodeS).toFixed(1), cpuDecodeS / r.perOperation.decodeS)));
console.log(row('decode, fused pass (tokens/s)', (DECODE / cpuDecodeS).toFixed(1), (r) => cell((DECODE / r.fused.decodeS).toFixed(1), cpuDecodeS / r.fused.decodeS)));
console.log(row('fused / per-operation decode speed', '', (r) => `${(r.perOperation.decodeS / r.fused.decodeS).toFixed(2)}×`));
console.log(row('training step (ms)', (cpuTrainS * 1e3).toFixed(0), (r) => cell((r.trainS * 1e3).toFixed(0), cpuTrainS / r.trainS)));
console.log(row('submissions / readbacks per token', '', (r) => `${r.fused.submissions.toFixed(2)} / ${r.fused.readbacks.toFixed(2)}`));
const equal = (d: Decoding) => `${d.equal === DECODE ? 'all' : `first ${d.equal}`} of ${DECODE}`;
console.log(row('greedy tokens equal to the reference, per-operation / fused', `${DECODE}`, (r) => `${equal(r.perOperation)} / ${equal(r.fused)}`));

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
/** Dispatches per layer: all but the embedding, final norm, logits and sampler. */
const perLayer = (c: DispatchCounts) => ((c.dispatches - 4) / cfg.nLayers).toFixed(0);
const ratio = (c: DispatchCounts, r: Run) => `${(c.bytesRead / activeWeightBytes(cfg, r.precision)).toFixed(2)}×`;
console.log(`\nper decode token (mean over tokens ${PROMPT + 2}-${PROMPT + DECODE}), counted as passes are encoded; active weights: what a token must read (activeWeightBytes)\n`);
console.log(header());
console.log(row('active weights per decode token', '', (r) => kb(activeWeightBytes(cfg, r.precision))));
console.log(row('dispatches per layer, per-operation → fused', '', (r) => `${perLayer(r.perOperation.counts)} → ${perLayer(r.fused.counts)}`));
console.log(row('dispatches per token, per-operation → fused', '', (r) => `${r.perOperation.counts.dispatches} → ${r.fused.counts.dispatches}`));
console.log(row('bytes read, per-operation → fused', '', (r) => `${kb(r.perOperation.counts.bytesRead)} → ${kb(r.fused.counts.bytesRead)}`));
console.log(row('bytes read / active weights, per-operation → fused (goal ≤ 1.5×)', '', (r) => `${ratio(r.perOperation.counts, r)} → ${ratio(r.fused.counts, r)}`));
console.log(row('bytes written, per-operation → fused', '', (r) => `${kb(r.perOperation.counts.bytesWritten)} → ${kb(r.fused.counts.bytesWritten)}`));
console.log(row('per training micro-step: dispatches / bytes read / written', '', (r) => `${r.microCounts.dispatches} / ${kb(r.microCounts.bytesRead)} / ${kb(r.microCounts.bytesWritten)}`));

console.log(`\nprefill on the adapter's default decode pass: the prompt in one pass against the per-token loop (prefill of its first token, then one extend per token), ms (× faster than the loop); dispatches per prefill\n`);
console.log(row('', '', (r) => `${r.adapter} ${r.precision}`).replace('|  |  |', '| tokens | what |'));
console.log(row('---', '---', () => '---'));
for (const [i, n] of PREFILLS.entries()) {
  const at = (r: Run) => r.prefills[i]!;
  console.log(row(`${n}`, 'one pass (ms)', (r) => cell((at(r).batchedS * 1e3).toFixed(1), at(r).perTokenS / at(r).batchedS)));
  console.log(row(`${n}`, 'per-token loop (ms)', (r) => (at(r).perTokenS * 1e3).toFixed(1)));
  console.log(row(`${n}`, 'dispatches, one pass / loop', (r) => `${at(r).batched.dispatches} / ${at(r).perToken.dispatches}`));
}
console.log(row(`${PREFILLS[0]} → ${PREFILLS.at(-1)}`, `one-pass time growth for ${PREFILLS.at(-1)! / PREFILLS[0]!}× the tokens`, (r) => `${(r.prefills.at(-1)!.batchedS / r.prefills[0]!.batchedS).toFixed(2)}×`));

const budgets = BUDGETS.map((m) => (m === cfg.nExperts ? 'none' : `${m} of ${cfg.nExperts}`)).join(', ');
console.log(`\nbatched decode: ${BATCHES.join(', ')} different ${PROMPT}-token prompts, ${DECODE} greedy tokens each, dynamic routing, then with budgets (sequence r: ${budgets} experts per layer chosen from its prompt, for r mod 3 = 0, 1, 2); tokens/s over all sequences (dynamic: × batch 1; budgets: × dynamic at that batch), per step: dispatches (per layer) / bytes read / written\n`);
console.log(row('', '', (r) => `${r.adapter} ${r.precision}`).replace('|  |  |', '| sequences | what |'));
console.log(row('---', '---', () => '---'));
const rate = (sequences: number, b: BatchedRun) => (sequences * (DECODE - 1)) / b.stepsS;
const perStep = (b: BatchedRun) => `${b.counts.dispatches} (${perLayer(b.counts)}) / ${kb(b.counts.bytesRead)} / ${kb(b.counts.bytesWritten)}`;
for (const [i, sequences] of BATCHES.entries()) {
  const at = (r: Run) => r.batches[i]!;
  console.log(row(`${sequences}`, 'tokens/s, dynamic', (r) => cell(rate(sequences, at(r).dynamic).toFixed(1), rate(sequences, at(r).dynamic) / rate(1, r.batches[0]!.dynamic))));
  console.log(row(`${sequences}`, 'tokens/s, budgets', (r) => cell(rate(sequences, at(r).budgets).toFixed(1), rate(sequences, at(r).budgets) / rate(sequences, at(r).dynamic))));
  console.log(row(`${sequences}`, 'per step, dynamic', (r) => perStep(at(r).dynamic)));
  console.log(row(`${sequences}`, 'per step, budgets', (r) => perStep(at(r).budgets)));
}

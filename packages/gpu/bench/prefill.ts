/**
 * One-pass prefill of this tree's engine against a baseline build's, in one process on the same
 * device: `pnpm bench:prefill BASELINE_ROOT [lavapipe|swiftshader]`, BASELINE_ROOT a checkout of
 * the repository (say `git archive main | tar -x -C /tmp/base`, with its node_modules) whose
 * packages/gpu/src/engine.ts is the baseline. Genesis v2's config with random weights (int8
 * experts), routed as v2's default budget mode (6 of 16 experts per layer chosen from the prompt);
 * prompts of 16, 48, 128 and 256 tokens; lavapipe at f32 and f16, then SwiftShader at f32 (once a
 * SwiftShader device exists in a process, lavapipe runs many times slower). Medians of ROUNDS
 * alternating runs, ms; each prefill's greedy next token is checked against the CPU reference's.
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type TensorMap, quantizeInt8, toF32 } from '@blyan/block';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { BlyanEngine, type Precision } from '../src/engine.ts';
import { GpuUnavailableError } from '../src/errors.ts';
import { type SoftwareDriver, nodeGpuDevice } from '../src/node-device.ts';
import { type ParamMap, Rng, argmax, budgetRouting, initParams, parameterShapes, prefill } from '@blyan/model';
import { median } from '../../../relay/bench/stats.ts';

const baselineRoot = process.argv[2];
if (!baselineRoot) throw new Error('usage: pnpm bench:prefill BASELINE_ROOT [lavapipe|swiftshader]');
const Baseline: typeof BlyanEngine = (await import(pathToFileURL(resolve(baselineRoot, 'packages/gpu/src/engine.ts')).href)).BlyanEngine;
const cfg = readCheckpoint(fileURLToPath(new URL('../../../public/genesis-v2/checkpoint.tensors', import.meta.url))).config;
const routing = budgetRouting(6, cfg);
const LENGTHS = [16, 48, 128, 256];
const ROUNDS = 3;
const DRIVERS = (['lavapipe', 'swiftshader'] as const).filter((d) => process.argv[3] === undefined || process.argv[3] === d);

const params: ParamMap = initParams(cfg, 1);
const tensors: TensorMap = {};
for (const { name, shape } of parameterShapes(cfg)) {
  if (name.includes('.experts.')) {
    const q = quantizeInt8(params[name]!, [...shape]);
    tensors[name] = q;
    params[name] = toF32(q);
  } else tensors[name] = { dtype: 'f32', shape: [...shape], data: params[name]! };
}
const rng = new Rng(7);
const prompt = Array.from({ length: LENGTHS.at(-1)! }, () => rng.nextUint32() % cfg.vocabSize);
const expected = LENGTHS.map((n) => argmax(prefill(params, cfg, prompt.slice(0, n), routing).logits));

interface Column {
  readonly label: string;
  /** Per length: baseline and this tree's ms. */
  readonly ms: (readonly [number, number])[];
}

async function measure(device: GPUDevice, adapter: string, precision: Precision): Promise<Column> {
  const engines = [await Baseline.create(device, cfg, { precision }), await BlyanEngine.create(device, cfg, { precision })];
  for (const e of engines) e.load(tensors);
  const ms: (readonly [number, number])[] = [];
  for (const [i, n] of LENGTHS.entries()) {
    const tokens = prompt.slice(0, n);
    const times: number[][] = [[], []];
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [which, engine] of engines.entries()) {
        const t = performance.now();
        await engine.prefill(tokens, routing);
        const logits = await engine.readLogits();
        if (round > 0) times[which]!.push(performance.now() - t);
        if (argmax(logits) !== expected[i]) throw new Error(`${adapter} ${precision}, ${n} tokens: the ${which === 0 ? 'baseline' : 'new'} engine's next token ${argmax(logits)} is not the reference's ${expected[i]}`);
      }
    }
    ms.push([median(times[0]!), median(times[1]!)]);
    process.stderr.write(`${adapter} ${precision} ${n}: ${ms.at(-1)!.map((x) => x.toFixed(1)).join(' → ')} ms\n`);
  }
  for (const e of engines) e.destroy();
  return { label: `${adapter} ${precision}`, ms };
}

const columns: Column[] = [];
for (const driver of DRIVERS as readonly SoftwareDriver[]) {
  let device: GPUDevice;
  try {
    device = await nodeGpuDevice(driver);
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    console.log(`(${driver} skipped: ${e.message})`);
    continue;
  }
  const adapter = driver === 'lavapipe' ? 'lavapipe' : 'SwiftShader';
  for (const precision of (device.features.has('shader-f16') ? ['f32', 'f16'] : ['f32']) as Precision[]) columns.push(await measure(device, adapter, precision));
  device.destroy();
}

const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
console.log(`genesis v2 shape (V=${cfg.vocabSize} d=${cfg.dModel} L=${cfg.nLayers} E=${cfg.nExperts} top-${cfg.topK} dFF=${cfg.dFF}), random int8 experts, 6 of 16 experts per layer chosen from the prompt; one-pass prefill, baseline → this tree, ms (× faster), medians of ${ROUNDS}; every next token equal to the CPU reference's\n`);
console.log(row(['tokens', ...columns.map((c) => c.label)]));
console.log(row(['---', ...columns.map(() => '---')]));
for (const [i, n] of LENGTHS.entries()) console.log(row([`${n}`, ...columns.map((c) => `${c.ms[i]![0].toFixed(1)} → ${c.ms[i]![1].toFixed(1)} (${(c.ms[i]![0] / c.ms[i]![1]).toFixed(2)}×)`)]));
const growth = (c: Column, k: 0 | 1) => (c.ms.at(-1)![k] / c.ms[0]![k]).toFixed(2);
console.log(row([`growth ${LENGTHS[0]} → ${LENGTHS.at(-1)} (${LENGTHS.at(-1)! / LENGTHS[0]!}× the tokens)`, ...columns.map((c) => `${growth(c, 0)}× → ${growth(c, 1)}×`)]));
process.exit(0);

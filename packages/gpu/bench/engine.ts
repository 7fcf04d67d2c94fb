/**
 * Decode and training speed of the WebGPU engine next to the CPU reference, on the genesis
 * config (or a smaller one: `tsx bench/engine.ts small`). Prints tokens/s, ms per training
 * micro-step + AdamW step, their GPU / CPU ratios, and GPU submissions and readbacks per token.
 */
import { type TensorMap, quantizeInt8, toF32 } from '@blyan/block';
import { BlyanEngine } from '../src/engine.ts';
import { nodeGpuDevice } from '../src/node-device.ts';
import { GENESIS_CONFIG, type ModelConfig, type ParamMap, Rng, adamwStep, argmax, backward, createAdamW, decodeStep, expertTensorNames, forward, initParams, parameterShapes, prefill } from '@blyan/model';

const CONFIGS: Record<string, ModelConfig> = {
  genesis: GENESIS_CONFIG,
  small: { vocabSize: 1024, dModel: 64, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 192, contextLength: 128, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 },
};
const name = process.argv[2] ?? 'genesis';
const cfg = CONFIGS[name];
if (!cfg) throw new Error(`unknown config ${name}; one of ${Object.keys(CONFIGS).join(', ')}`);
const PROMPT = 16;
const DECODE = Math.min(Number(process.argv[3] ?? 32), cfg.contextLength - PROMPT);
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

const { params, tensors } = model();
const rng = new Rng(7);
const prompt = Array.from({ length: PROMPT }, () => rng.nextUint32() % cfg.vocabSize);
const batch = Array.from({ length: 2 * B * T }, () => rng.nextUint32() % cfg.vocabSize);
const inputs = batch.slice(0, B * T);
const targets = batch.slice(B * T);

let t0 = performance.now();
const cpuPrefill = prefill(params, cfg, prompt);
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

const device = await nodeGpuDevice();
t0 = performance.now();
const engine = await BlyanEngine.create(device, cfg);
engine.load(tensors);
const createS = seconds(t0);
await engine.prefill(prompt);
await engine.readLogits();
t0 = performance.now();
await engine.prefill(prompt);
const gpuPrefillS = seconds(t0);
const before = { ...engine.counters };
const gpuTokens: number[] = [];
t0 = performance.now();
for await (const t of engine.generate({ maxTokens: DECODE, sampling: { temperature: 0 } })) gpuTokens.push(t);
const gpuDecodeS = seconds(t0);
const submissions = (engine.counters.submissions - before.submissions) / DECODE;
const readbacks = (engine.counters.readbacks - before.readbacks) / DECODE;

const trainer = await engine.createTrainer({ layer, expert, batch: B, seqLen: T, adamw: ADAMW });
await trainer.microStep(inputs, targets);
await trainer.step();
t0 = performance.now();
await trainer.microStep(inputs, targets);
await trainer.step();
const gpuTrainS = seconds(t0);

const adapter = `${process.env.VK_ICD_FILENAMES?.includes('swiftshader') ? 'SwiftShader (software Vulkan)' : 'Vulkan'} via Dawn`;
const row = (what: string, gpu: string, cpu: string, ratio: string) => `| ${what} | ${gpu} | ${cpu} | ${ratio} |`;
console.log(`config ${name}: V=${cfg.vocabSize} d=${cfg.dModel} L=${cfg.nLayers} H=${cfg.nHeads} E=${cfg.nExperts} top-${cfg.topK} dFF=${cfg.dFF} ctx=${cfg.contextLength}; ${adapter}; engine created and loaded in ${createS.toFixed(2)} s`);
console.log(`greedy decode of ${DECODE} tokens after a ${PROMPT}-token prompt; training: expert ${expert} of layer ${layer}, batch ${B}×${T}, micro-step + AdamW step`);
console.log(row('', 'WebGPU', 'CPU reference', 'GPU / CPU speed'));
console.log(row('---', '---', '---', '---'));
console.log(row('prefill (ms)', (gpuPrefillS * 1e3).toFixed(1), (cpuPrefillS * 1e3).toFixed(1), (cpuPrefillS / gpuPrefillS).toFixed(2)));
console.log(row('decode (tokens/s)', (DECODE / gpuDecodeS).toFixed(1), (DECODE / cpuDecodeS).toFixed(1), (cpuDecodeS / gpuDecodeS).toFixed(2)));
console.log(row('training step (ms)', (gpuTrainS * 1e3).toFixed(0), (cpuTrainS * 1e3).toFixed(0), (cpuTrainS / gpuTrainS).toFixed(2)));
console.log(row('submissions / token', submissions.toFixed(2), '', ''));
console.log(row('readbacks / token', readbacks.toFixed(2), '', ''));
console.log(`greedy tokens equal to the reference: ${gpuTokens.every((t, i) => t === cpuTokens[i])}`);
engine.destroy();
device.destroy();

import type { TensorMap } from '@blyan/block';
import { BlyanEngine } from '@blyan/gpu';
import { type ModelConfig, type ParamMap, argmax, decodeStep, initParams, prefill } from '@blyan/model';
import { throughBlocks } from '@blyan/model/blocks';
import type { Backend } from '../protocol.ts';
import { OrtRunner } from './ort-runner.ts';

/** What the adapter says of itself (GPUAdapterInfo), as far as telling hardware from software goes. */
export interface AdapterFacts {
  isFallbackAdapter?: boolean;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/** Software WebGPU drivers: the CPU pretending to be a GPU. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/** The adapter's name when it is a software fallback, else null. */
export function softwareAdapter(info: AdapterFacts): string | null {
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  const named = SOFTWARE.exec(text)?.[0];
  if (named) return named.toLowerCase() === 'swiftshader' ? 'SwiftShader' : named;
  return info.isFallbackAdapter ? 'a fallback adapter' : null;
}

/** One engine's measured decode speed, or why it could not run. */
export type EngineSpeed = { backend: Backend; tokensPerSecond: number } | { backend: Backend; failed: string };

const NAME: Record<Backend, string> = { webgpu: 'WebGPU', wasm: 'wasm', cpu: 'the CPU reference' };

/** The engine a calibration chose, and the sentence that says which and why. */
export interface EngineChoice {
  backend: Backend;
  notice: string;
}

/**
 * The fastest engine that ran, and the sentence that says which and why. `adapter`: the software
 * adapter's name, or null when the browser has no WebGPU adapter at all; `earlier`: the figures
 * come from a calibration remembered from an earlier visit.
 */
export function pickEngine(adapter: string | null, speeds: readonly EngineSpeed[], earlier = false): EngineChoice {
  const ran = speeds.flatMap((s) => ('tokensPerSecond' in s ? [s] : [])).sort((a, b) => b.tokensPerSecond - a.tokensPerSecond);
  const best = ran[0];
  if (!best) throw new Error(`no engine ran the calibration: ${speeds.map((s) => `${s.backend}: ${'failed' in s ? s.failed : ''}`).join('; ')}`);
  const figures = ran.map((s) => `${Math.round(s.tokensPerSecond)} tokens/s on ${NAME[s.backend]}`).join(', ');
  return {
    backend: best.backend,
    notice: `${adapter === null ? 'This browser has no WebGPU adapter.' : `This device’s only WebGPU adapter is ${adapter}, software rather than a GPU.`} A short test${earlier ? ' on an earlier visit' : ''} decoded ${figures}, so the model runs on ${NAME[best.backend]}, the fastest here. Settings → Engine overrides this.`,
  };
}

/** Decode steps each engine is timed over (after one untimed warm-up step). */
const STEPS = 8;
const PROMPT = 16;

/**
 * A model of the real shape with random weights, through the blocks' own encoding (int8 experts):
 * the calibration measures speed, not text.
 */
function calibrationModel(cfg: ModelConfig): { params: ParamMap; tensors: TensorMap; prompt: number[] } {
  const { params, tensors } = throughBlocks(cfg, initParams(cfg, 1), 'int8');
  return { params, tensors, prompt: Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 13) % cfg.vocabSize) };
}

type Timer = (cfg: ModelConfig, m: ReturnType<typeof calibrationModel>) => Promise<number>;

const perSecond = (steps: number, t0: number) => (1000 * steps) / (performance.now() - t0);

const cpu: Timer = async (cfg, { params, prompt }) => {
  const { logits, state } = prefill(params, cfg, prompt);
  let next = decodeStep(state, argmax(logits));
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) next = decodeStep(state, argmax(next));
  return perSecond(STEPS, t0);
};

/** On the worker's own device: its compiled pipelines are the model engine's (compiled once per device). */
const webgpu = (device: GPUDevice): Timer => async (cfg, { tensors, prompt }) => {
  const engine = await BlyanEngine.create(device, cfg);
  try {
    engine.load(tensors);
    await engine.prefill(prompt);
    let t0 = 0;
    let n = 0;
    for await (const _ of engine.generate({ maxTokens: STEPS + 1, sampling: { temperature: 0, topK: 0, topP: 1 } })) {
      if (n++ === 0) t0 = performance.now();
    }
    return perSecond(n - 1, t0);
  } finally {
    engine.destroy();
  }
};

const wasm: Timer = async (cfg, { params, prompt }) => {
  const ort = await OrtRunner.open(cfg);
  try {
    const seq = [...prompt];
    const none = Array.from({ length: cfg.nLayers }, () => null);
    seq.push(argmax((await ort.forward(params, seq, none)).logits));
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) seq.push(argmax((await ort.forward(params, seq, none)).logits));
    return perSecond(STEPS, t0);
  } finally {
    await ort.release();
  }
};

/**
 * Times each engine's decoding on a random model of `cfg`, one after the other, WebGPU on `device`
 * (the one the worker opened; null: none); an engine that fails is reported, not fatal.
 */
export async function calibrate(cfg: ModelConfig, device: GPUDevice | null): Promise<EngineSpeed[]> {
  const model = calibrationModel(cfg);
  const timers: [Backend, Timer][] = [['cpu', cpu], ...(device ? [['webgpu', webgpu(device)] as [Backend, Timer]] : []), ['wasm', wasm]];
  const speeds: EngineSpeed[] = [];
  for (const [backend, time] of timers) {
    try {
      speeds.push({ backend, tokensPerSecond: await time(cfg, model) });
    } catch (e) {
      speeds.push({ backend, failed: (e as Error).message });
    }
  }
  return speeds;
}

/**
 * Whether the engine must be measured rather than assumed, from the device the worker opened: the
 * adapter's name when WebGPU is only a software fallback, null (in `adapter`) when there is no
 * device at all; false for a real GPU.
 */
export function needsCalibration(device: GPUDevice | null): { adapter: string | null } | false {
  if (!device) return { adapter: null };
  const software = softwareAdapter(device.adapterInfo);
  return software === null ? false : { adapter: software };
}

/** A calibration's result as kept in IndexedDB: valid only for the `key` it was measured under. */
export interface RememberedCalibration {
  key: string;
  adapter: string | null;
  speeds: EngineSpeed[];
}

/**
 * What a calibration depends on: the adapter (vendor, architecture, device, description; none
 * without WebGPU), the engine's version (the worker bundle's content-hashed address, which
 * changes with any engine code) and the network (its genesis pin: the model's shape).
 */
export function calibrationKey(info: AdapterFacts | null, engineVersion: string, pin: string): string {
  const adapter = info === null ? null : [info.vendor, info.architecture, info.device, info.description, info.isFallbackAdapter === true];
  return JSON.stringify({ adapter, engineVersion, pin });
}

/** The remembered choice under `key`, or null when nothing (or something else, or something malformed) is kept. */
export function rememberedChoice(saved: unknown, key: string): EngineChoice | null {
  if (typeof saved !== 'object' || saved === null) return null;
  const { key: k, adapter, speeds } = saved as Partial<RememberedCalibration>;
  if (k !== key || !Array.isArray(speeds) || !(adapter === null || typeof adapter === 'string')) return null;
  const backends: readonly unknown[] = ['webgpu', 'wasm', 'cpu'];
  const valid = speeds.every((x: unknown) => typeof x === 'object' && x !== null && backends.includes((x as EngineSpeed).backend) && (typeof (x as { tokensPerSecond?: unknown }).tokensPerSecond === 'number' || typeof (x as { failed?: unknown }).failed === 'string'));
  if (!valid) return null;
  try {
    return pickEngine(adapter, speeds, true);
  } catch {
    return null;
  }
}

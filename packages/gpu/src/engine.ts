import type { TensorMap } from '@blyan/block';
import { GpuDeviceLostError, GpuUnavailableError, checked } from './errors.ts';
import type { BatchDecoder } from './batch.ts';
import { type DecodePass, Inference, type PromptShape, checkPromptShape, promptShapeFor } from './inference.ts';
import type { GenerateOptions } from './sampling.ts';
import { attentionWorkgroupBytes } from './kernels/attention.ts';
import { decodeWorkgroupBytes } from './kernels/decode.ts';
import { noDispatches } from './kernel.ts';
import { expertLayout } from './layout.ts';
import type { Counters } from './plan.ts';
import { PASSES, type PassName, type PipelineState, checkPasses } from './passes.ts';
import { type ModelConfig, type Routing, headDim, validateConfig } from '@blyan/model';
import { type TrainerOptions, Trainer } from './training.ts';
import { type ExpertTensors, ModelWeights } from './weights.ts';
import type { Storage } from './wgsl.ts';

export interface EngineOptions {
  /** Experts each layer's pool holds at once (default: all of them). */
  readonly expertSlots?: number;
  /**
   * How the embedding, the attention projections and the KV cache are stored: 'f16' halves their
   * memory and bandwidth and needs the device's 'shader-f16' feature; arithmetic, activations,
   * norms, the router and the trained expert stay f32, experts int8. Default: 'f16' on a hardware
   * adapter with shader-f16; 'f32' otherwise, and on fallback (software, CPU) adapters, where f16
   * showed no reliable speed gain (lavapipe: docs/BENCHMARKS.md) and f32 stays closest to the
   * reference.
   */
  readonly precision?: Precision;
  /**
   * How a decode step runs each layer (DecodePass). Default: 'fused' on a hardware adapter, where
   * a step waits on dispatch latency (unless its kernels need more workgroup memory than the
   * adapter allows); 'per-operation' on fallback (software, CPU) adapters, where the fused pass's
   * one-workgroup kernels leave cores idle and measured slower (docs/BENCHMARKS.md).
   */
  readonly decode?: DecodePass;
  /** How the prompt pass's matrix products are cut (PromptShape); default: promptShapeFor the adapter. */
  readonly prompt?: PromptShape;
  /**
   * The passes (PASSES) whose pipelines are compiled before create resolves; the others compile
   * on first use, or ahead of it with `compile()`. Default: all of them. A page whose first token
   * comes from elsewhere (the CPU) can ask for none and compile after it is ready.
   */
  readonly compile?: readonly PassName[];
}

export type Precision = Storage;

/**
 * The Blyan model on WebGPU. Create it from a device (requestGpuDevice) and a config, load the
 * verified tensors-v1 views, then prefill and generate, or train one expert. Every buffer is
 * allocated at creation, and each pass is compiled and bound once (at creation, ahead of use with
 * `compile()`, or on first use: EngineOptions.compile); steps only write uniforms and replay.
 * When the device is lost every call throws GpuDeviceLostError, and GpuUnavailableError when the
 * adapter cannot hold this model: both mean "use the CPU reference".
 */
export class BlyanEngine {
  private lostInfo: GPUDeviceLostInfo | null = null;
  private busy = false;
  private readonly trainers = new Set<Trainer>();

  private constructor(
    readonly device: GPUDevice,
    readonly cfg: ModelConfig,
    /** GPU submissions, readbacks, dispatches and the bytes they read and write, since creation. */
    readonly counters: Counters,
    private readonly weights: ModelWeights,
    private readonly inference: Inference,
  ) {
    device.lost.then((info) => {
      this.lostInfo = info;
    });
  }

  static async create(device: GPUDevice, cfg: ModelConfig, options: EngineOptions = {}): Promise<BlyanEngine> {
    validateConfig(cfg);
    const slots = options.expertSlots ?? cfg.nExperts;
    if (!Number.isSafeInteger(slots) || slots < 1) throw new Error(`expertSlots must be a positive integer, got ${slots}`);
    const f16 = device.features.has('shader-f16');
    const precision = options.precision ?? (f16 && !device.adapterInfo.isFallbackAdapter ? 'f16' : 'f32');
    if (precision !== 'f32' && precision !== 'f16') throw new Error(`precision must be 'f32' or 'f16', got ${String(precision)}`);
    if (precision === 'f16' && !f16) throw new GpuUnavailableError("precision 'f16' needs a device with the 'shader-f16' feature (this adapter has none); use 'f32'");
    checkLimits(device, cfg, slots);
    const decode = decodePass(device, cfg, options.decode);
    const prompt = checkPromptShape(options.prompt ?? promptShapeFor(device.adapterInfo));
    const compile = checkPasses(options.compile ?? PASSES);
    const counters = { submissions: 0, readbacks: 0, ...noDispatches() };
    const { weights, inference } = await checked(device, 'creating the engine', async () => {
      const weights = new ModelWeights(device, cfg, slots, precision);
      return { weights, inference: await Inference.create(device, cfg, weights, counters, decode, prompt, compile) };
    });
    return new BlyanEngine(device, cfg, counters, weights, inference);
  }

  /**
   * Compiles the passes not compiled yet, one after another in the order an answer needs them
   * (PASSES); a use meanwhile waits only for its own pass.
   */
  async compile(): Promise<void> {
    this.alive();
    try {
      await this.inference.compile(PASSES);
    } catch (e) {
      throw await this.explain(e);
    }
  }

  /** Each pass's pipelines (PASSES): compiled, being compiled, or not asked for yet. */
  pipelines(): Readonly<Record<PassName, PipelineState>> {
    return this.inference.pipelines();
  }

  /** How the embedding, attention projections and KV cache are stored (EngineOptions.precision). */
  get precision(): Precision {
    return this.weights.matrices;
  }

  /**
   * Uploads dense (f32) and expert (i8) tensors by parameter name, straight from their views; at
   * f16 precision the embedding and attention projections may come as f16 views (f32 ones are
   * rounded once here).
   */
  load(tensors: TensorMap): void {
    this.alive();
    this.weights.load(tensors);
  }

  addExpert(layer: number, expert: number, tensors: ExpertTensors): void {
    this.alive();
    this.weights.addExpert(layer, expert, tensors);
  }

  evictExpert(layer: number, expert: number): void {
    this.alive();
    this.weights.evictExpert(layer, expert);
  }

  hasExpert(layer: number, expert: number): boolean {
    return this.weights.hasExpert(layer, expert);
  }

  /** Runs a prompt, resetting the sequence; see Inference.prefill. */
  prefill(tokens: ArrayLike<number>, routing?: Routing): Promise<void> {
    return this.exclusive(() => this.inference.prefill(tokens, routing));
  }

  /** Appends tokens to the sequence in one pass; see Inference.extend. */
  extend(tokens: ArrayLike<number>): Promise<void> {
    return this.exclusive(() => this.inference.extend(tokens));
  }

  /** Streams generated tokens (one submission and one small readback each). */
  async *generate(options: GenerateOptions): AsyncGenerator<number, void, undefined> {
    this.enter();
    try {
      yield* this.inference.generate(options);
    } catch (e) {
      throw await this.explain(e);
    } finally {
      this.busy = false;
    }
  }

  /** The logits [V] the last generated token was sampled from (after prefill: the next one's). */
  readLogits(): Promise<Float32Array> {
    return this.exclusive(() => this.inference.readLogits());
  }

  /** Tokens in the KV cache. */
  get position(): number {
    return this.inference.position;
  }

  /** A decoder of up to `sequences` sequences in one pass per token (BatchDecoder). */
  createBatch(sequences: number): Promise<BatchDecoder> {
    this.alive();
    this.weights.checkComplete();
    return this.inference.createBatch(sequences, (f) => this.exclusive(f));
  }

  /** A trainer for one expert with the rest of the model frozen; the expert must be loaded. */
  async createTrainer(options: TrainerOptions): Promise<Trainer> {
    this.alive();
    this.weights.checkComplete();
    const trainer = await Trainer.create(this.device, this.cfg, this.weights, this.counters, options, (f) => this.exclusive(f));
    this.trainers.add(trainer);
    return trainer;
  }

  /** Frees the engine's GPU memory (the device stays the caller's). */
  destroy(): void {
    for (const t of this.trainers) t.destroy();
    this.inference.destroy();
    this.weights.destroy();
  }

  private alive(): void {
    if (this.lostInfo) throw new GpuDeviceLostError(this.lostInfo.reason, this.lostInfo.message);
  }

  private enter(): void {
    this.alive();
    if (this.busy) throw new Error('the engine is busy with another prefill, generation or training step');
    this.busy = true;
  }

  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await f();
    } catch (e) {
      throw await this.explain(e);
    } finally {
      this.busy = false;
    }
  }

  /**
   * A failure caused by losing the device (a rejected map, say) becomes GpuDeviceLostError; the
   * lost promise may settle just after the failure, so it gets one more turn of the event loop.
   */
  private async explain(e: unknown): Promise<unknown> {
    const info = this.lostInfo ?? (await Promise.race([this.device.lost, new Promise<null>((resolve) => setTimeout(() => resolve(null), 0))]));
    return info ? new GpuDeviceLostError(info.reason, info.message) : e;
  }
}

/**
 * The decode pass asked for, or the default: 'fused' on a hardware adapter whose workgroup memory
 * holds the fused kernels, 'per-operation' otherwise. 'fused' asked for on an adapter too small
 * for it is a GpuUnavailableError.
 */
function decodePass(device: GPUDevice, cfg: ModelConfig, asked: DecodePass | undefined): DecodePass {
  if (asked !== undefined && asked !== 'fused' && asked !== 'per-operation') throw new Error(`decode must be 'fused' or 'per-operation', got ${String(asked)}`);
  const needs = decodeWorkgroupBytes(cfg);
  const allows = device.limits.maxComputeWorkgroupStorageSize;
  if (asked === 'fused' && needs > allows) throw new GpuUnavailableError(`the fused decode pass needs ${needs} bytes of workgroup memory for this model; this adapter allows ${allows} (use decode: 'per-operation')`);
  return asked ?? (device.adapterInfo.isFallbackAdapter || needs > allows ? 'per-operation' : 'fused');
}

function checkLimits(device: GPUDevice, cfg: ModelConfig, slots: number): void {
  const { limits } = device;
  const workgroup = attentionWorkgroupBytes({ nHeads: cfg.nHeads, headDim: headDim(cfg), maxKeys: cfg.contextLength });
  if (workgroup > limits.maxComputeWorkgroupStorageSize) {
    throw new GpuUnavailableError(`attention over contextLength ${cfg.contextLength} needs ${workgroup} bytes of workgroup memory; this adapter allows ${limits.maxComputeWorkgroupStorageSize}`);
  }
  const { dModel: d, dFF: F } = cfg;
  const largest = Math.max(cfg.vocabSize * d * 4, slots * expertLayout(d, F).elements, cfg.contextLength * cfg.topK * Math.max(F, d) * 4);
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (largest > limit) throw new GpuUnavailableError(`the model needs a ${largest}-byte buffer; this adapter allows ${limit}`);
}

import { BlyanEngine, GpuDeviceLostError, GpuUnavailableError, OnFirstUse, type PassName, type PipelineState, requestGpuDevice } from '@blyan/gpu';
import { MissingExpertError, type ModelConfig, type Routing, type SamplingOptions } from '@blyan/model';
import type { ExpertRef } from './expert-plan.ts';

/**
 * The engine passes compiled before the page is ready: none. An answer's first token comes from
 * the CPU's prompt pass (LayeredPrefill), so the GPU's prompt pass, one-token pass and sampler
 * compile after the start (`compile`), and an answer that needs one sooner waits for it.
 */
const COMPILED_AT_START: readonly PassName[] = [];

/** A failure that means "this browser cannot run the model on WebGPU now: use the CPU". */
export const isGpuFailure = (e: unknown): boolean => e instanceof GpuUnavailableError || e instanceof GpuDeviceLostError;

/**
 * The model on WebGPU (@blyan/gpu): int8 experts are uploaded from the verified payload views,
 * prompts and decode steps that route to an expert not yet uploaded ask `load` for it and retry.
 */
export class GpuRunner {
  private constructor(
    /** The worker's one WebGPU device: the engine and the engine calibration share it (and its compiled pipelines). */
    readonly device: GPUDevice,
    private engine: BlyanEngine | null = null,
  ) {}

  /** The engine's compile of its passes left for later (once per engine): its milliseconds. */
  private compiling = this.compileOnce();

  /** A runner on this browser's WebGPU device; throws GpuUnavailableError with the reason. */
  static async open(): Promise<GpuRunner> {
    return new GpuRunner(await requestGpuDevice((navigator as Navigator & { gpu?: GPU }).gpu));
  }

  /** A fresh engine for a (new) model, its buffers allocated and COMPILED_AT_START compiled: the previous one is destroyed. */
  async reset(cfg: ModelConfig): Promise<void> {
    this.engine?.destroy();
    this.engine = null;
    this.compiling = this.compileOnce();
    this.engine = await BlyanEngine.create(this.device, cfg, { compile: COMPILED_AT_START });
  }

  /**
   * Compiles the engine's passes left for later, in the order an answer needs them, once per
   * engine (a call meanwhile waits for the same compile; one after a failure tries again);
   * resolves with its milliseconds.
   */
  compile(): Promise<number> {
    return this.compiling.get();
  }

  private compileOnce(): OnFirstUse<number> {
    return new OnFirstUse(async () => {
      const t0 = performance.now();
      await this.live.compile();
      return performance.now() - t0;
    });
  }

  /** The engine's passes and where their pipelines are (none without an engine). */
  pipelines(): Partial<Record<PassName, PipelineState>> {
    return this.engine?.pipelines() ?? {};
  }

  private get live(): BlyanEngine {
    if (!this.engine) throw new Error('the WebGPU engine has no model yet');
    return this.engine;
  }

  /** Uploads a slot's tensors: dense ones, or an expert's three (added to its layer's pool). */
  load(tensors: Parameters<BlyanEngine['load']>[0]): void {
    this.live.load(tensors);
  }

  evictExpert(layer: number, expert: number): void {
    if (this.live.hasExpert(layer, expert)) this.live.evictExpert(layer, expert);
  }

  /** Tokens in the KV cache: the positions this answer ran through the model. */
  get position(): number {
    return this.live.position;
  }

  /** Prefill, fetching (through `load`) any expert the GPU's routing needs that is not uploaded. */
  async prefill(tokens: readonly number[], routing: Routing, load: (refs: ExpertRef[]) => Promise<void>): Promise<void> {
    for (;;) {
      try {
        return await this.live.prefill(tokens, routing);
      } catch (e) {
        if (!(e instanceof MissingExpertError)) throw e;
        await load([{ layer: e.layer, expert: e.expert }]);
      }
    }
  }

  /**
   * Streams up to maxTokens tokens to `onToken` until it returns false; a decode step that routes to
   * a missing expert is retried once `load` added it (the engine keeps the pending token).
   */
  async generate(maxTokens: number, sampling: SamplingOptions, seed: number, load: (refs: ExpertRef[]) => Promise<void>, onToken: (token: number) => Promise<boolean>): Promise<void> {
    let produced = 0;
    let round = 0;
    while (produced < maxTokens) {
      try {
        for await (const token of this.live.generate({ maxTokens: maxTokens - produced, sampling, seed: seed + round })) {
          produced++;
          if (!(await onToken(token))) return;
        }
        return;
      } catch (e) {
        if (!(e instanceof MissingExpertError)) throw e;
        round++;
        await load([{ layer: e.layer, expert: e.expert }]);
      }
    }
  }

  destroy(): void {
    this.engine?.destroy();
    this.engine = null;
  }
}

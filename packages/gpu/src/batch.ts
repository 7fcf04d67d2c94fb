import { type ModelConfig, Rng, type Routing, validateRouting } from '@blyan/model';
import { encodeDispatches } from './kernel.ts';
import { type Counters, type Plan, Readback, submitPass } from './plan.ts';
import { type GenerateOptions, samplingOf } from './sampling.ts';
import { ROUTE_ALL } from './wgsl.ts';

/** The buffers a batched step writes and reads back (Inference.createBatch). */
export interface BatchBuffers {
  readonly step: GPUBuffer;
  readonly status: GPUBuffer;
  readonly tokens: GPUBuffer;
  readonly positions: GPUBuffer;
  readonly draws: GPUBuffer;
  readonly result: GPUBuffer;
}

/**
 * Options of a batched generation: GenerateOptions but stopTokens, and optionally each prompt's
 * routing (one per prompt; default dynamic for all), as Inference.prefill takes it: a sequence
 * budget (budgetRouting: experts chosen from its prompt), fixed allowed sets, or dynamic.
 */
export interface BatchOptions extends Omit<GenerateOptions, 'stopTokens'> {
  readonly routings?: readonly Routing[];
}

/**
 * Batched decoding: up to `sequences` sequences, each with its own KV cache, advance one token
 * each per step, in one pass (a row per sequence, at its own position) and one submission with
 * one readback of their tokens. Prompts are loaded one by one (each a prompt pass), then every
 * step feeds each sequence's last sampled token. Each sequence routes as its prompt's prefill
 * left it, within its own allowed experts per layer (its expert budget, or all of them), in the
 * same routing dispatch as the others (routeKernel's row masks).
 */
export class BatchDecoder {
  private readonly readback: Readback;

  constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    private readonly counters: Counters,
    readonly sequences: number,
    private readonly buffers: BatchBuffers,
    private readonly plans: { readonly forward: Plan; readonly sampler: Plan },
    private readonly load: (row: number, prompt: readonly number[], routing: Routing) => Promise<void>,
    private readonly exclusive: <T>(f: () => Promise<T>) => Promise<T>,
  ) {
    this.readback = new Readback(device, 'batch readback', sequences + 1);
  }

  /**
   * Continues each prompt (one sequence each, at most `sequences`) by up to maxTokens tokens,
   * yielding one token per sequence per step; every sequence runs maxTokens steps (stopTokens are
   * not used). Sampling draws come from one Rng seeded with options.seed, row by row. Every
   * prompt's length and routing is checked before any is loaded.
   */
  async *generate(prompts: readonly (readonly number[])[], options: BatchOptions): AsyncGenerator<number[], void, undefined> {
    const { cfg } = this;
    const sampling = samplingOf(options);
    const n = prompts.length;
    if (n < 1 || n > this.sequences) throw new Error(`a batch of ${this.sequences} sequences takes 1 to ${this.sequences} prompts, got ${n}`);
    for (const [r, p] of prompts.entries()) {
      if (p.length + options.maxTokens - 1 > cfg.contextLength) throw new Error(`prompt ${r}: ${p.length} tokens and ${options.maxTokens} more exceed contextLength ${cfg.contextLength}`);
    }
    const routings = this.routingsOf(n, options.routings);
    for (const [r, p] of prompts.entries()) await this.load(r, p, routings[r]!);
    const positions = new Uint32Array(prompts.map((p) => p.length));
    const rng = new Rng(options.seed ?? 0);
    for (let i = 0; i < options.maxTokens; i++) {
      const draws = Float32Array.from({ length: n }, () => (sampling.temperature === 0 ? 0 : rng.next()));
      const tokens = await this.exclusive(() => this.step(n, i === 0 ? null : positions, sampling, draws));
      if (i > 0) for (let r = 0; r < n; r++) positions[r]!++;
      yield tokens;
    }
  }

  /** Each of n prompts' routing (dynamic when not given), checked as the single-sequence prefill checks it. */
  private routingsOf(n: number, routings: readonly Routing[] | undefined): readonly Routing[] {
    if (routings === undefined) return Array.from({ length: n }, () => ({ mode: 'dynamic' }));
    if (routings.length !== n) throw new Error(`${n} prompts need ${n} routings, got ${routings.length}`);
    for (const [r, routing] of routings.entries()) {
      try {
        validateRouting(routing, this.cfg);
      } catch (e) {
        throw new Error(`prompt ${r}: ${(e as Error).message}`, { cause: e });
      }
    }
    return routings;
  }

  /** One submission: with `positions`, the forward pass of each row's pending token; then sampling every row. */
  private async step(n: number, positions: Uint32Array<ArrayBuffer> | null, sampling: { temperature: number; topK: number; topP: number }, draws: Float32Array<ArrayBuffer>): Promise<number[]> {
    const { device, buffers } = this;
    device.queue.writeBuffer(buffers.draws, 0, draws);
    if (positions) device.queue.writeBuffer(buffers.positions, 0, positions);
    const io = { ...buffers, readback: this.readback };
    const tokens = await submitPass(device, this.counters, io, this.cfg.nExperts, { n, seqLen: 1, routeMode: ROUTE_ALL, ...sampling }, n, (pass) => {
      if (positions) {
        const keys = positions.subarray(0, n).reduce((sum, p) => sum + p + 1, 0);
        encodeDispatches(pass, this.plans.forward.dispatches, n, keys, this.counters);
      }
      encodeDispatches(pass, this.plans.sampler.dispatches, n, 0, this.counters);
    });
    return Array.from(tokens);
  }
}

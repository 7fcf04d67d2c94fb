import { readBuffer, storageBuffer, uniformBuffer, uniformWith } from './buffers.ts';
import { type Counters, Plan, Readback } from './plan.ts';
import { type Kernel, compileAll, compileKernel, encodeDispatches, grid1d } from './kernel.ts';
import { attentionKernel } from './kernels/attention.ts';
import { embeddingKernel } from './kernels/embedding.ts';
import { expertDownKernel, expertGrid, expertUpKernel } from './kernels/expert.ts';
import { linearGrid, linearKernel } from './kernels/linear.ts';
import { combineKernel } from './kernels/moe.ts';
import { decodeAttentionInGrid, decodeAttentionInKernel, decodeAttentionOutKernel, decodeMoeKernel } from './kernels/decode.ts';
import { rmsnormKernel } from './kernels/rmsnorm.ts';
import { ropeGrid, ropeKernel } from './kernels/rope.ts';
import { NO_MISSING_EXPERT, missingExpert, routeKernel, statsStride } from './kernels/route.ts';
import { sampleKernel, sampleScratch } from './kernels/sample.ts';
import { type RouteLayout, expertLayout, routeLayout, tilesFor } from './layout.ts';
import { MissingExpertError, type ModelConfig, Rng, type Routing, type SamplingOptions, headDim, routerBase } from '@blyan/model';
import type { ModelWeights } from './weights.ts';
import { NO_EXPERT, ROUTE_ALL, ROUTE_ALLOWED, ROUTE_CHOOSE, STEP_BYTES, type StepFields, type Storage, encodeLayer, encodeStep } from './wgsl.ts';

export interface GenerateOptions {
  /** Tokens to generate at most. */
  readonly maxTokens: number;
  readonly sampling?: SamplingOptions;
  /** Seed of the Rng whose draws pick sampled tokens (one per token unless greedy). Default 0. */
  readonly seed?: number;
  /** Generation stops after yielding one of these. */
  readonly stopTokens?: readonly number[];
}

/** Prompt passes use 4-row register blocks and 4-row expert tiles; decoding works on one row. */
const PROMPT_ROWS = 4;

/**
 * A generation session on the GPU: the KV cache, the activations of one pass, and two recorded
 * forward passes (prompt and single-token decode) plus the sampler. A decode step is one
 * submission (forward + sampling, the sampled token written back as the next step's input on the
 * GPU) and one 8-byte readback (token and routing status). The KV cache is stored like the dense
 * matrices (weights.matrices: f32 or f16); activations are f32.
 */
export class Inference {
  /** Tokens in the KV cache: the position of the next token fed. */
  private pos = 0;
  /** Sampled but not yet fed through the model. */
  private pending: number | null = null;
  private hasLogits = false;
  private decodeMode = ROUTE_ALL;
  private readonly step: GPUBuffer;
  private readonly tokens: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly status: GPUBuffer;
  private readonly result: GPUBuffer;
  private readonly readback: Readback;
  private readonly owned: GPUBuffer[] = [];
  /** Recorded forward passes: one token (decoding, or a one-token prompt) and prompts. */
  private readonly decode: Plan;
  private readonly prompt: Plan;
  private readonly sample: Plan;

  private constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    private readonly weights: ModelWeights,
    private readonly counters: Counters,
    k: { decode: PassKernels; prompt: PassKernels; sample: Kernel },
  ) {
    const { dModel: d, nExperts: E, topK: K, dFF: F, contextLength: ctx, vocabSize: V } = cfg;
    const f32 = (label: string, n: number): GPUBuffer => this.own(storageBuffer(device, label, n * 4));
    const cacheBytes = ctx * d * (weights.matrices === 'f16' ? 2 : 4);
    const vOffset = kvCacheValueOffset(cacheBytes, device.limits.minStorageBufferOffsetAlignment);
    const kvCache = (l: number) => {
      const buffer = this.own(storageBuffer(device, `kv cache ${l}`, vOffset + cacheBytes));
      return { kv: buffer, k: { buffer, offset: 0, size: cacheBytes }, v: { buffer, offset: vOffset, size: cacheBytes } };
    };
    this.step = this.own(uniformBuffer(device, 'step', STEP_BYTES));
    this.tokens = f32('tokens', ctx);
    this.logits = f32('logits', V);
    this.status = f32('status', 1);
    this.result = f32('result', 1);
    this.readback = new Readback(device, 'token readback', 2);
    const layerInfo = Array.from({ length: cfg.nLayers }, (_, l) => this.own(uniformWith(device, `layer ${l}`, encodeLayer(l, NO_EXPERT, NO_EXPERT, 0))));
    const a = {
      x: f32('x', ctx * d),
      x2: f32('x2', ctx * d),
      ln: f32('ln', ctx * d),
      q: f32('q', ctx * d),
      att: f32('attention out', ctx * d),
      kvCache: Array.from({ length: cfg.nLayers }, (_, l) => kvCache(l)),
      routerLogits: f32('router logits', ctx * E),
      probs: f32('router probs', ctx * E),
      gates: f32('gates', ctx * K),
      act: f32('expert act', ctx * K * F),
      y: f32('expert out', ctx * K * d),
      stats: f32('routing stats', cfg.nLayers * statsStride(E)),
    };
    const variant = (kernels: PassKernels, rows: number): Plan => {
      const route = kernels.routeLayout;
      const routeBuffer = f32(`route ${rows}`, route.words);
      const plan = new Plan(device);
      const step = this.step;
      const tiles = (n: number) => tilesFor(route, n);
      const lin = (out: number) => (n: number) => linearGrid({ outFeatures: out, rowsPerThread: rows }, n);
      plan.add(kernels.embed, { step, tokens: this.tokens, embed: weights.embed, out: a.x }, (n) => grid1d(n * d));
      type Layer = { readonly w: (typeof weights.layers)[number]; readonly layer: GPUBuffer; readonly cache: (typeof a.kvCache)[number] };
      /** A layer in three fused dispatches (the one-token pass). */
      const fusedLayer = (f: NonNullable<PassKernels['fused']>) => ({ w, layer, cache: { kv } }: Layer) => {
        plan.add(f.attentionIn, { step, x: a.x, norm: w.attnNorm, wq: w.wq, wk: w.wk, wv: w.wv, table: weights.rope, q: a.q, kv }, () => decodeAttentionInGrid(d));
        plan.add(f.attentionOut, { step, q: a.q, kv, wo: w.wo, x: a.x, x2: a.x2 }, () => [1, 1, 1]);
        plan.add(f.moe, { step, layer, x2: a.x2, norm: w.ffnNorm, router: w.router, table: w.table, w: w.pool, w_scales: w.scales, status: this.status, out: a.x }, () => [1, 1, 1]);
      };
      /** A layer over the step's n rows, one kernel per operation. */
      const rowsLayer = ({ w, layer, cache: { k, v } }: Layer) => {
        plan.add(kernels.rms, { step, x: a.x, weight: w.attnNorm, out: a.ln }, (n) => [n, 1, 1]);
        plan.add(kernels.linear, { step, x: a.ln, w: w.wq, y: a.q }, lin(d));
        plan.add(kernels.linearKV, { step, x: a.ln, w: w.wk, y: k }, lin(d));
        plan.add(kernels.linearKV, { step, x: a.ln, w: w.wv, y: v }, lin(d));
        plan.add(kernels.rope, { step, table: weights.rope, q: a.q, k }, (n) => ropeGrid(n, d));
        plan.add(kernels.attention, { step, q: a.q, k, v, out: a.att }, (n) => [n, cfg.nHeads, 1]);
        plan.add(kernels.linearResidual, { step, x: a.att, w: w.wo, y: a.x2, res: a.x }, lin(d));
        plan.add(kernels.rms, { step, x: a.x2, weight: w.ffnNorm, out: a.ln }, (n) => [n, 1, 1]);
        plan.add(kernels.router, { step, x: a.ln, w: w.router, y: a.routerLogits }, lin(E));
        plan.add(kernels.route, { step, layer, logits: a.routerLogits, probs: a.probs, gates: a.gates, route: routeBuffer, table: w.table, stats: a.stats, status: this.status }, () => [1, 1, 1]);
        const pooled = { layer, route: routeBuffer, table: w.table, w: w.pool, w_scales: w.scales };
        plan.add(kernels.up, { ...pooled, x: a.ln, act: a.act }, (n) => expertGrid(F, tiles(n)));
        plan.add(kernels.down, { ...pooled, act: a.act, y: a.y }, (n) => expertGrid(d, tiles(n)));
        plan.add(kernels.combine, { step, route: routeBuffer, gates: a.gates, y: a.y, x2: a.x2, out: a.x }, (n) => grid1d(n * d));
      };
      const recordLayer = kernels.fused ? fusedLayer(kernels.fused) : rowsLayer;
      for (const [l, w] of weights.layers.entries()) recordLayer({ w, layer: layerInfo[l]!, cache: a.kvCache[l]! });
      plan.add(kernels.rms, { step, x: a.x, weight: weights.finalNorm, out: a.ln }, (n) => [n, 1, 1]);
      plan.add(kernels.logits, { step, x: a.ln, w: weights.embed, y: this.logits }, () => linearGrid({ outFeatures: V, rowsPerThread: 1 }, 1));
      return plan;
    };
    this.decode = variant(k.decode, 1);
    this.prompt = variant(k.prompt, PROMPT_ROWS);
    this.sample = new Plan(device);
    this.sample.add(k.sample, { step: this.step, logits: this.logits, scratch: f32('sample scratch', sampleScratch(V)), result: this.result, tokens: this.tokens }, () => [1, 1, 1]);
  }

  /** `decode`: how the one-token pass runs a layer (EngineOptions.decode). */
  static async create(device: GPUDevice, cfg: ModelConfig, weights: ModelWeights, counters: Counters, decodePass: DecodePass): Promise<Inference> {
    const s = weights.matrices;
    const [decode, prompt, sample] = await Promise.all([passKernels(device, cfg, 1, s, decodePass === 'fused'), passKernels(device, cfg, PROMPT_ROWS, s, false), compileKernel(device, sampleKernel(cfg.vocabSize))]);
    return new Inference(device, cfg, weights, counters, { decode, prompt, sample });
  }

  /**
   * Runs the prompt (resetting the sequence) and leaves its last logits for generate. Routing as
   * in the reference's prefill; a token routed to an expert that is not loaded throws
   * MissingExpertError (add it and prefill again).
   */
  async prefill(tokens: ArrayLike<number>, routing: Routing = { mode: 'dynamic' }): Promise<void> {
    const { cfg } = this;
    this.weights.checkComplete();
    const n = tokens.length;
    if (n === 0) throw new Error('prefill needs at least one token');
    if (n > cfg.contextLength) throw new Error(`prompt of ${n} tokens exceeds contextLength ${cfg.contextLength}`);
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const id = tokens[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new Error(`tokens[${i}] = ${id} is not a token id in [0, ${cfg.vocabSize})`);
      ids[i] = id;
    }
    const { prefillMode, decodeMode, chooseM } = this.routingModes(routing);
    this.pos = 0;
    this.pending = null;
    this.hasLogits = false;
    this.device.queue.writeBuffer(this.tokens, 0, ids);
    await this.forward(n, { n, start: 0, seqLen: n, lastRow: n - 1, routeMode: prefillMode, chooseM }, false);
    this.pos = n;
    this.decodeMode = decodeMode;
    this.hasLogits = true;
  }

  /** Streams up to maxTokens tokens, each sampled on the GPU from the logits so far. */
  async *generate(options: GenerateOptions): AsyncGenerator<number, void, undefined> {
    const { temperature = 1, topK = 0, topP = 1 } = options.sampling ?? {};
    if (!(temperature >= 0 && Number.isFinite(temperature))) throw new Error(`temperature must be a finite number ≥ 0, got ${temperature}`);
    if (!Number.isSafeInteger(topK) || topK < 0) throw new Error(`topK must be an integer ≥ 0, got ${topK}`);
    if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
    if (!Number.isSafeInteger(options.maxTokens) || options.maxTokens < 0) throw new Error(`maxTokens must be an integer ≥ 0, got ${options.maxTokens}`);
    if (!this.hasLogits) throw new Error('generate needs a prefill first');
    const rng = new Rng(options.seed ?? 0);
    const stop = new Set(options.stopTokens ?? []);
    for (let i = 0; i < options.maxTokens; i++) {
      const sampling = { temperature, topK, topP, draw: temperature === 0 ? 0 : rng.next() };
      const token = this.pending === null ? await this.sampleOnly(sampling) : await this.decodeStep(this.pending, sampling);
      this.pending = token;
      yield token;
      if (stop.has(token)) return;
    }
  }

  /** The logits [V] the last token was (or the next one will be) sampled from. */
  async readLogits(): Promise<Float32Array> {
    if (!this.hasLogits) throw new Error('no logits yet: prefill first');
    return new Float32Array(await readBuffer(this.device, this.logits, 0, this.cfg.vocabSize * 4, this.counters));
  }

  /** Tokens in the KV cache. */
  get position(): number {
    return this.pos;
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.readback.destroy();
  }

  private async sampleOnly(s: Pick<StepFields, 'temperature' | 'topK' | 'topP' | 'draw'>): Promise<number> {
    this.device.queue.writeBuffer(this.step, 0, encodeStep(s));
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, this.sample.dispatches, 1, this.counters);
    pass.end();
    this.readback.copy(encoder, this.result, 0, 0);
    this.submit(encoder);
    return new Uint32Array(await this.readback.read(this.counters))[0]!;
  }

  /**
   * Feeds the pending token at pos (the sampler already left it in the GPU's token buffer) and
   * samples the next one. When routing hits a missing expert the token buffer gets `pending`
   * back, so the step can be retried once the expert is added.
   */
  private async decodeStep(pending: number, s: Pick<StepFields, 'temperature' | 'topK' | 'topP' | 'draw'>): Promise<number> {
    if (this.pos >= this.cfg.contextLength) throw new Error(`cannot decode past contextLength ${this.cfg.contextLength}`);
    try {
      const next = await this.forward(1, { n: 1, start: this.pos, seqLen: 1, lastRow: 0, routeMode: this.decodeMode, ...s }, true);
      this.pos++;
      return next;
    } catch (e) {
      if (e instanceof MissingExpertError) this.device.queue.writeBuffer(this.tokens, 0, new Uint32Array([pending]));
      throw e;
    }
  }

  /** One pass over n rows; with `sample`, also picks the next token. Returns it (or −1). */
  private async forward(n: number, step: Partial<StepFields>, sample: boolean): Promise<number> {
    const plan = n === 1 ? this.decode : this.prompt;
    this.device.queue.writeBuffer(this.step, 0, encodeStep(step));
    this.device.queue.writeBuffer(this.status, 0, new Uint32Array([NO_MISSING_EXPERT]));
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, plan.dispatches, n, this.counters);
    if (sample) encodeDispatches(pass, this.sample.dispatches, 1, this.counters);
    pass.end();
    this.readback.copy(encoder, this.result, 0, 0);
    this.readback.copy(encoder, this.status, 0, 1);
    this.submit(encoder);
    const [token, status] = new Uint32Array(await this.readback.read(this.counters));
    const missing = missingExpert(status!, this.cfg.nExperts);
    if (missing) throw missing;
    return sample ? token! : -1;
  }

  private submit(encoder: GPUCommandEncoder): void {
    this.device.queue.submit([encoder.finish()]);
    this.counters.submissions++;
  }

  private routingModes(routing: Routing): { prefillMode: number; decodeMode: number; chooseM: number } {
    const { cfg } = this;
    if (routing.mode === 'dynamic') return { prefillMode: ROUTE_ALL, decodeMode: ROUTE_ALL, chooseM: 0 };
    if (routing.mode === 'static') {
      if (routing.allowed.length !== cfg.nLayers) throw new Error(`static routing has ${routing.allowed.length} allowed sets for ${cfg.nLayers} layers`);
      for (const [l, allowed] of routing.allowed.entries()) {
        if (allowed) {
          for (const [i, e] of allowed.entries()) {
            if (!Number.isSafeInteger(e) || e < 0 || e >= cfg.nExperts || (i > 0 && e <= allowed[i - 1]!)) throw new Error(`layer ${l}: allowed experts must be distinct ascending ids in [0, ${cfg.nExperts}), got [${allowed.join(', ')}]`);
          }
          if (allowed.length < cfg.topK) throw new Error(`layer ${l}: ${allowed.length} allowed experts but every token needs topK = ${cfg.topK}`);
        }
        this.weights.setAllowed(l, allowed);
      }
      return { prefillMode: ROUTE_ALLOWED, decodeMode: ROUTE_ALLOWED, chooseM: 0 };
    }
    const m = routing.expertsPerLayer;
    if (!Number.isSafeInteger(m) || m < cfg.topK || m > cfg.nExperts) throw new Error(`static-prompt routing: expertsPerLayer must be an integer in [topK = ${cfg.topK}, nExperts = ${cfg.nExperts}], got ${m}`);
    return { prefillMode: ROUTE_CHOOSE, decodeMode: ROUTE_ALLOWED, chooseM: m };
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }
}

/**
 * The kernels of an inference pass whose dense products use `rows`-row register blocks, with the
 * embedding, attention projections and KV cache stored as `s`.
 */
function passSpecs(cfg: ModelConfig, route: RouteLayout, rows: number, s: Storage) {
  const { dModel: d, nExperts: E, dFF: F } = cfg;
  const expert = { expert: expertLayout(d, F), route, weight: 'i8' as const };
  const lin = (inF: number, outF: number, extra: { weight?: Storage; out?: Storage; outRowOffset?: boolean; residual?: boolean; rows?: 'step' | 'last'; tm?: number } = {}) =>
    linearKernel({ inFeatures: inF, outFeatures: outF, weight: extra.weight ?? s, out: extra.out ?? 'f32', rowsPerThread: extra.tm ?? rows, rows: extra.rows ?? 'step', outRowOffset: extra.outRowOffset ?? false, residual: extra.residual ?? false });
  return {
    embed: embeddingKernel(cfg.vocabSize, d, s),
    rms: rmsnormKernel(d, cfg.normEps, false),
    linear: lin(d, d),
    linearKV: lin(d, d, { outRowOffset: true, out: s }),
    linearResidual: lin(d, d, { residual: true }),
    router: lin(d, E, { weight: 'f32' }),
    logits: lin(d, cfg.vocabSize, { rows: 'last', tm: 1 }),
    rope: ropeKernel(cfg.nHeads, headDim(cfg), 1, s),
    attention: attentionKernel({ nHeads: cfg.nHeads, headDim: headDim(cfg), maxKeys: cfg.contextLength }, false, s),
    route: routeKernel(route),
    up: expertUpKernel(expert, false),
    down: expertDownKernel(expert),
    combine: combineKernel(route, d),
  };
}

/**
 * The fused kernels of the one-token decode pass (kernels/decode.ts), three per layer: the
 * attention's input side (norm, q/k/v, rotary), the attention with its output projection, and a token's whole MoE block (norm, router, routing, its experts and
 * their weighted sum).
 */
function decodeSpecs(cfg: ModelConfig, s: Storage, vOffset: number) {
  const vElement = vOffset / (s === 'f16' ? 2 : 4);
  return {
    attentionIn: decodeAttentionInKernel(cfg.nHeads, headDim(cfg), cfg.normEps, s, vElement),
    attentionOut: decodeAttentionOutKernel(cfg.nHeads, headDim(cfg), cfg.contextLength, s, vElement),
    moe: decodeMoeKernel(expertLayout(cfg.dModel, cfg.dFF), cfg.nExperts, cfg.topK, cfg.normEps, routerBase(cfg)),
  };
}

/**
 * How the one-token pass runs a layer: 'fused', three dispatches (kernels/decode.ts, two of them
 * one workgroup each: for a model this size a decode step is bound by dispatch latency), or
 * 'per-operation', the prompt pass's thirteen kernels at one row (more workgroups per layer:
 * for models too wide for one workgroup per token, and the baseline `pnpm bench:gpu` compares with).
 */
export type DecodePass = 'fused' | 'per-operation';

/**
 * A layer's KV cache is one buffer, keys first, values from this byte offset on (the keys' size
 * rounded up to the binding alignment), so a kernel can append to both through one binding.
 */
function kvCacheValueOffset(cacheBytes: number, alignment: number): number {
  return Math.ceil(cacheBytes / alignment) * alignment;
}

type Kernels<S> = { readonly [K in keyof S]: Kernel };

type PassKernels = Kernels<ReturnType<typeof passSpecs>> & { readonly routeLayout: RouteLayout; readonly fused: Kernels<ReturnType<typeof decodeSpecs>> | null };

/** A pass's kernels, with the fused decode kernels when `withFused` (the one-token pass: rows 1). */
async function passKernels(device: GPUDevice, cfg: ModelConfig, rows: number, s: Storage, withFused: boolean): Promise<PassKernels> {
  const route = routeLayout(cfg.nExperts, cfg.topK, rows, rows === 1 ? 1 : cfg.contextLength, routerBase(cfg));
  const [base, fused] = await Promise.all([compileAll(device, passSpecs(cfg, route, rows, s)), withFused ? compileAll(device, decodeSpecs(cfg, s, kvCacheValueOffset(cfg.contextLength * cfg.dModel * (s === 'f16' ? 2 : 4), device.limits.minStorageBufferOffsetAlignment))) : null]);
  return { ...base, routeLayout: route, fused };
}

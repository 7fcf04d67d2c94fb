import { readBuffer, storageBuffer, uniformBuffer, uniformWith } from './buffers.ts';
import { type Counters, Plan, Readback, bytesOf, keysOf, rowsOf, submitPass } from './plan.ts';
import { type Extent, type Kernel, type Resource, WORKGROUP, compileAll, compileKernel, encodeCopy, encodeDispatches, grid1d } from './kernel.ts';
import { BatchDecoder } from './batch.ts';
import { type GenerateOptions, samplingOf } from './sampling.ts';
import { PROMPT_ATTENTION_ROWS, attentionKernel, promptAttentionKernel } from './kernels/attention.ts';
import { embeddingKernel } from './kernels/embedding.ts';
import { expertDownKernel, expertGrid, expertUpKernel } from './kernels/expert.ts';
import { linearGrid, linearKernel } from './kernels/linear.ts';
import { combineKernel } from './kernels/moe.ts';
import { decodeAttentionInGrid, decodeAttentionInKernel, decodeAttentionOutKernel, decodeMoeKernel } from './kernels/decode.ts';
import { rmsnormRowsGrid, rmsnormRowsKernel } from './kernels/rmsnorm.ts';
import { ropeGrid, ropeKernel } from './kernels/rope.ts';
import { routeKernel, statsStride } from './kernels/route.ts';
import { sampleKernel, sampleScratch } from './kernels/sample.ts';
import { type RouteLayout, expertLayout, routeLayout, tilesFor } from './layout.ts';
import { MissingExpertError, type ModelConfig, Rng, type Routing, headDim, routerBase, validateRouting } from '@blyan/model';
import type { ModelWeights } from './weights.ts';
import { checked } from './errors.ts';
import { OnFirstUse, PASSES, type PassName, type PipelineState } from './passes.ts';
import { NO_EXPERT, ROUTE_ALL, ROUTE_ALLOWED, ROUTE_CHOOSE, STEP_BYTES, type StepFields, type Storage, encodeLayer, encodeStep } from './wgsl.ts';

/**
 * How a pass cuts its matrix products (dense projections and experts): `rows` per thread (the
 * register block's height and the expert tiles' rows: each weight a thread loads serves that many
 * rows) and `threads` per workgroup (4 output columns each).
 */
export interface PromptShape {
  readonly rows: number;
  readonly threads: number;
}

/** Decoding works on one row; batched decoding on 4-row blocks from 4 sequences on. */
const ONE_ROW: PromptShape = { rows: 1, threads: WORKGROUP };
const BATCH_ROWS = 4;

/**
 * The prompt pass's shape for an adapter: on SwiftShader, whose JIT (Subzero) spends most of a
 * matrix product on loads, 8-row blocks (each weight loaded serves 8 rows) in 16-thread
 * workgroups (so that a short prompt's 128-column projection is still two workgroups, one per
 * core); elsewhere 4-row blocks in 64-thread workgroups (docs/BENCHMARKS.md, "Prompt kernels for
 * SwiftShader").
 */
export function promptShapeFor(adapter: Pick<GPUAdapterInfo, 'architecture'>): PromptShape {
  return adapter.architecture === 'swiftshader' ? { rows: 8, threads: 16 } : { rows: 4, threads: WORKGROUP };
}

/** `shape` if its rows are in [2, 32] and its threads a power of two in [4, 256]; throws otherwise. */
export function checkPromptShape(shape: PromptShape): PromptShape {
  const { rows, threads } = shape;
  if (!Number.isSafeInteger(rows) || rows < 2 || rows > 32) throw new Error(`prompt.rows must be an integer in [2, 32], got ${rows}`);
  if (!Number.isSafeInteger(threads) || threads < 4 || threads > 256 || (threads & (threads - 1)) !== 0) throw new Error(`prompt.threads must be a power of two in [4, 256], got ${threads}`);
  return shape;
}

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
  /** The recorded passes (PASSES: prompts, one token, the sampler), each compiled and recorded on first use or when asked for. */
  private readonly passes: { readonly [P in PassName]: OnFirstUse<Plan> };
  /** Per layer, the KV cache of the one sequence. */
  private readonly caches: readonly KvCache[];
  /** Bytes a pass touches, per resource: activations by rows, the KV cache by rows appended (attention overrides it with the keys it reads). */
  private readonly extents = new Map<Resource, Extent>();
  private readonly record: (kernels: PassKernels, io: PassIO) => Plan;

  private constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    private readonly weights: ModelWeights,
    private readonly counters: Counters,
    private readonly cache: KvCacheLayout,
    decodePass: DecodePass,
    promptShape: PromptShape,
  ) {
    const { dModel: d, nExperts: E, topK: K, dFF: F, contextLength: ctx, vocabSize: V } = cfg;
    const f32 = (label: string, n: number): GPUBuffer => this.own(storageBuffer(device, label, n * 4));
    const { rowBytes } = cache;
    const extents = this.extents;
    const x = expertLayout(d, F);
    this.step = this.own(uniformBuffer(device, 'step', STEP_BYTES));
    const rows = (label: string, perRow: number): GPUBuffer => this.rowBuffer(label, ctx, perRow);
    this.tokens = rows('tokens', 1);
    this.logits = f32('logits', V);
    this.status = f32('status', 1);
    this.result = f32('result', 1);
    this.readback = new Readback(device, 'token readback', 2);
    const layerInfo = Array.from({ length: cfg.nLayers }, (_, l) => this.own(uniformWith(device, `layer ${l}`, encodeLayer(l, NO_EXPERT, NO_EXPERT, 0))));
    extents.set(weights.rope, rowsOf(4 * headDim(cfg)));
    const a = {
      x: rows('x', d),
      x2: rows('x2', d),
      ln: rows('ln', d),
      q: rows('q', d),
      att: rows('attention out', d),
      routerLogits: rows('router logits', E),
      probs: rows('router probs', E),
      gates: rows('gates', K),
      act: rows('expert act', K * F),
      y: rows('expert out', K * d),
      stats: f32('routing stats', cfg.nLayers * statsStride(E)),
    };
    this.caches = Array.from({ length: cfg.nLayers }, (_, l) => this.kvCache(`kv cache ${l}`, cache));
    /**
     * Records a forward pass with `kernels` from `tokens` over `caches` into `logits`: the one-token
     * and prompt passes (the last row's logits), or with `positions` the batched pass (row r:
     * sequence r's token at positions[r], every row's logits).
     */
    this.record = (kernels, { caches, logits, tokens, positions, masks }) => {
      const { rows: rowsPerThread, threads } = kernels.shape;
      const route = kernels.routeLayout;
      const routeBuffer = f32(`route ${rowsPerThread} ${route.maxRows}`, route.words);
      const plan = new Plan(device, extents);
      const step = this.step;
      const tiles = (n: number) => tilesFor(route, n);
      const lin = (out: number) => (n: number) => linearGrid({ outFeatures: out, rowsPerThread, threads }, n);
      /** Row r's own position in the batched pass. */
      const at: Readonly<Record<string, Resource>> = positions ? { positions } : {};
      /** Each row's allowed experts in the batched pass: the route kernel reads the layer's E flags of each row. */
      const masked: { resources: Readonly<Record<string, Resource>>; extents: Readonly<Record<string, Extent>> } = masks ? { resources: { masks }, extents: { masks: rowsOf(4 * E) } } : { resources: {}, extents: {} };
      /** The expert pool's bytes a pass reads: `bytes` and `scales` of each row's K experts (at most every slot). */
      const chosenExperts = (bytes: number, scales: number) => ({ w: rowsOf(K * bytes), w_scales: rowsOf(K * 4 * scales) });
      plan.add(kernels.embed, { step, tokens, embed: weights.embed, out: a.x }, (n) => grid1d(n * d), { embed: rowsOf(rowBytes) });
      type Layer = { readonly w: (typeof weights.layers)[number]; readonly layer: GPUBuffer; readonly cache: KvCache };
      /** A layer in three fused dispatches (the one-token pass). */
      const fusedLayer = (f: NonNullable<PassKernels['fused']>) => ({ w, layer, cache: { kv } }: Layer) => {
        plan.add(f.attentionIn, { step, x: a.x, norm: w.attnNorm, wq: w.wq, wk: w.wk, wv: w.wv, table: weights.rope, q: a.q, kv }, () => decodeAttentionInGrid(d));
        plan.add(f.attentionOut, { step, q: a.q, kv, wo: w.wo, x: a.x, x2: a.x2 }, () => [1, 1, 1], { kv: keysOf(2 * rowBytes) });
        plan.add(f.moe, { step, layer, x2: a.x2, norm: w.ffnNorm, router: w.router, table: w.table, w: w.pool, w_scales: w.scales, status: this.status, out: a.x }, () => [1, 1, 1], chosenExperts(x.elements, x.scales));
      };
      /** A layer over the step's n rows, one kernel per operation. */
      const rowsLayer = ({ w, layer, cache: { k, v } }: Layer) => {
        plan.add(kernels.rms, { step, x: a.x, weight: w.attnNorm, out: a.ln }, rmsnormRowsGrid);
        plan.add(kernels.linear, { step, x: a.ln, w: w.wq, y: a.q }, lin(d));
        plan.add(kernels.linearKV, { step, x: a.ln, w: w.wk, y: k, ...at }, lin(d));
        plan.add(kernels.linearKV, { step, x: a.ln, w: w.wv, y: v, ...at }, lin(d));
        plan.add(kernels.rope, { step, table: weights.rope, q: a.q, k, ...at }, (n) => ropeGrid(n, d));
        plan.add(kernels.attention, { step, q: a.q, k, v, out: a.att, ...at }, (n) => [Math.ceil(n / kernels.attentionRows), cfg.nHeads, 1], { k: keysOf(rowBytes), v: keysOf(rowBytes) });
        plan.add(kernels.linearResidual, { step, x: a.att, w: w.wo, y: a.x2, res: a.x }, lin(d));
        plan.add(kernels.rms, { step, x: a.x2, weight: w.ffnNorm, out: a.ln }, rmsnormRowsGrid);
        plan.add(kernels.router, { step, x: a.ln, w: w.router, y: a.routerLogits }, lin(E));
        plan.add(kernels.route, { step, layer, logits: a.routerLogits, probs: a.probs, gates: a.gates, route: routeBuffer, table: w.table, stats: a.stats, status: this.status, ...masked.resources }, () => [1, 1, 1], masked.extents);
        const pooled = { layer, route: routeBuffer, table: w.table, w: w.pool, w_scales: w.scales };
        plan.add(kernels.up, { ...pooled, x: a.ln, act: a.act }, (n) => expertGrid(F, tiles(n), threads), chosenExperts(x.w2, x.s2));
        plan.add(kernels.down, { ...pooled, act: a.act, y: a.y }, (n) => expertGrid(d, tiles(n), threads), chosenExperts(x.elements - x.w2, x.scales - x.s2));
        plan.add(kernels.combine, { step, route: routeBuffer, gates: a.gates, y: a.y, x2: a.x2, out: a.x }, (n) => grid1d(n * d));
      };
      const recordLayer = kernels.fused ? fusedLayer(kernels.fused) : rowsLayer;
      for (const [l, w] of weights.layers.entries()) recordLayer({ w, layer: layerInfo[l]!, cache: caches[l]! });
      plan.add(kernels.rms, { step, x: a.x, weight: weights.finalNorm, out: a.ln }, rmsnormRowsGrid);
      if (positions) plan.add(kernels.logits, { step, x: a.ln, w: weights.embed, y: logits }, lin(V));
      else plan.add(kernels.logits, { step, x: a.ln, w: weights.embed, y: logits }, () => linearGrid({ outFeatures: V, rowsPerThread: 1, threads }, 1), { x: bytesOf(4 * d) });
      return plan;
    };
    const io = { caches: this.caches, logits: this.logits, tokens: this.tokens, positions: null, masks: null };
    const s = weights.matrices;
    /** A pass compiled by `compile`, then recorded by `record` (its buffers and bind groups checked). */
    const recorded = <K>(name: PassName, compile: () => Promise<K>, record: (kernels: K) => Plan) =>
      new OnFirstUse(async () => {
        const kernels = await compile();
        return checked(device, `recording the ${name} pass`, () => record(kernels));
      });
    this.passes = {
      prompt: recorded('prompt', () => passKernels(device, cfg, promptShape, s, null), (k) => this.record(k, io)),
      decode: recorded('decode', () => passKernels(device, cfg, ONE_ROW, s, decodePass === 'fused' ? cache : null), (k) => this.record(k, io)),
      sample: recorded('sample', () => compileKernel(device, sampleKernel(V)), (k) => {
        const plan = new Plan(device);
        plan.add(k, { step: this.step, logits: this.logits, scratch: f32('sample scratch', sampleScratch(V)), result: this.result, tokens: this.tokens }, () => [1, 1, 1]);
        return plan;
      }),
    };
  }

  /**
   * `decode`: how the one-token pass runs a layer (EngineOptions.decode); `promptShape`: how the
   * prompt pass cuts its matrix products; `compile`: the passes compiled and recorded before it
   * returns (together), the others are on first use or `compile`.
   */
  static async create(device: GPUDevice, cfg: ModelConfig, weights: ModelWeights, counters: Counters, decodePass: DecodePass, promptShape: PromptShape, compile: readonly PassName[]): Promise<Inference> {
    const cache = kvCacheLayout(cfg, weights.matrices, device.limits.minStorageBufferOffsetAlignment);
    const inference = new Inference(device, cfg, weights, counters, cache, decodePass, promptShape);
    await Promise.all(compile.map((p) => inference.passes[p].get()));
    return inference;
  }

  /** Compiles and records `passes` that are not yet, one after another in the order given (what is needed first is ready first). */
  async compile(passes: readonly PassName[]): Promise<void> {
    for (const p of passes) await this.passes[p].get();
  }

  /** Each pass's pipelines: compiled, being compiled, or not asked for yet. */
  pipelines(): Readonly<Record<PassName, PipelineState>> {
    return Object.fromEntries(PASSES.map((p) => [p, this.passes[p].state])) as Record<PassName, PipelineState>;
  }

  /**
   * Runs the prompt (resetting the sequence) and leaves its last logits for generate. Routing as
   * in the reference's prefill; a token routed to an expert that is not loaded throws
   * MissingExpertError (add it and prefill again).
   */
  async prefill(tokens: ArrayLike<number>, routing: Routing = { mode: 'dynamic' }): Promise<void> {
    this.weights.checkComplete();
    const ids = this.checkTokens(tokens, 0, 'prefill');
    const n = ids.length;
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

  /**
   * Appends `tokens` to the sequence (a conversation's next turn) in one pass, after the last
   * generated token if it has not been fed yet, routed as decode steps are; leaves the last
   * logits for generate. A MissingExpertError leaves the sequence as it was (add the expert and
   * extend again).
   */
  async extend(tokens: ArrayLike<number>): Promise<void> {
    if (!this.hasLogits) throw new Error('extend needs a prefill first');
    const fed = this.pending === null ? [] : [this.pending];
    const ids = Uint32Array.from([...fed, ...this.checkTokens(tokens, this.pos + fed.length, 'extend')]);
    const n = ids.length;
    this.device.queue.writeBuffer(this.tokens, 0, ids);
    await this.forward(n, { n, start: this.pos, seqLen: n, lastRow: n - 1, routeMode: this.decodeMode }, false);
    this.pos += n;
    this.pending = null;
  }

  /** Streams up to maxTokens tokens, each sampled on the GPU from the logits so far. */
  async *generate(options: GenerateOptions): AsyncGenerator<number, void, undefined> {
    const { temperature, topK, topP } = samplingOf(options);
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

  /** Token ids to feed at position `at`, checked: at least one, each in the vocabulary, within the context. */
  private checkTokens(tokens: ArrayLike<number>, at: number, what: string): Uint32Array<ArrayBuffer> {
    const { cfg } = this;
    const n = tokens.length;
    if (n === 0) throw new Error(`${what} needs at least one token`);
    if (at + n > cfg.contextLength) throw new Error(`${what}: ${n} tokens after ${at} exceed contextLength ${cfg.contextLength}`);
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const id = tokens[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new Error(`tokens[${i}] = ${id} is not a token id in [0, ${cfg.vocabSize})`);
      ids[i] = id;
    }
    return ids;
  }

  private async sampleOnly(s: Pick<StepFields, 'temperature' | 'topK' | 'topP' | 'draw'>): Promise<number> {
    const sampler = await this.passes.sample.get();
    this.device.queue.writeBuffer(this.step, 0, encodeStep(s));
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, sampler.dispatches, 1, 0, this.counters);
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

  /** One pass over n rows (the one-token pass or the prompt pass, compiled first if it is not yet); with `sample`, also picks the next token. Returns it (or −1). */
  private async forward(n: number, step: Partial<StepFields>, sample: boolean): Promise<number> {
    const [plan, sampler] = await Promise.all([this.passes[n === 1 ? 'decode' : 'prompt'].get(), sample ? this.passes.sample.get() : null]);
    const io = { step: this.step, status: this.status, result: this.result, readback: this.readback };
    const [token] = await submitPass(this.device, this.counters, io, this.cfg.nExperts, step, 1, (pass) => {
      encodeDispatches(pass, plan.dispatches, n, (step.start ?? 0) + n, this.counters);
      if (sampler) encodeDispatches(pass, sampler.dispatches, 1, 0, this.counters);
    });
    return sample ? token! : -1;
  }

  private submit(encoder: GPUCommandEncoder): void {
    this.device.queue.submit([encoder.finish()]);
    this.counters.submissions++;
  }

  private routingModes(routing: Routing): { prefillMode: number; decodeMode: number; chooseM: number } {
    validateRouting(routing, this.cfg);
    if (routing.mode === 'dynamic') return { prefillMode: ROUTE_ALL, decodeMode: ROUTE_ALL, chooseM: 0 };
    if (routing.mode === 'static') {
      for (const [l, allowed] of routing.allowed.entries()) this.weights.setAllowed(l, allowed);
      return { prefillMode: ROUTE_ALLOWED, decodeMode: ROUTE_ALLOWED, chooseM: 0 };
    }
    return { prefillMode: ROUTE_CHOOSE, decodeMode: ROUTE_ALLOWED, chooseM: routing.expertsPerLayer };
  }

  /**
   * Writes into row `row` of a batch's `masks` (routeKernel's row masks) the experts this session's decode steps
   * route within: each layer's allowed flags, as its prefill chose or set them, or every expert
   * under dynamic routing.
   */
  private encodeAllowed(encoder: GPUCommandEncoder, masks: GPUBuffer, row: number): void {
    const { cfg } = this;
    const layerBytes = 4 * cfg.nExperts;
    const at = row * cfg.nLayers * layerBytes;
    if (this.decodeMode === ROUTE_ALL) {
      this.device.queue.writeBuffer(masks, at, new Uint32Array(cfg.nLayers * cfg.nExperts).fill(1));
      return;
    }
    for (const [l, { table }] of this.weights.layers.entries()) encodeCopy(encoder, table, layerBytes, masks, at + l * layerBytes, layerBytes, this.counters);
  }

  /** Per layer, a KV cache of `sequences` sequences of contextLength rows: keys, then values from byte vOffset on. */
  private kvCache(label: string, { rowBytes, bytes, vOffset }: KvCacheLayout): KvCache {
    const buffer = this.own(storageBuffer(this.device, label, vOffset + bytes));
    const [k, v] = [{ buffer, offset: 0, size: bytes }, { buffer, offset: vOffset, size: bytes }];
    this.extents.set(k, rowsOf(rowBytes)).set(v, rowsOf(rowBytes)).set(buffer, rowsOf(2 * rowBytes));
    return { kv: buffer, k, v };
  }

  /**
   * A batched decoder of up to `sequences` sequences (its own KV caches, tokens, logits and
   * sampler), sharing this session's activations, weights and step uniform; `exclusive` runs each
   * of its GPU steps alone (BlyanEngine's lock). A prompt is loaded by prefilling it here (this
   * session's sequence is reset) under the sequence's routing, and copying its KV rows, logits
   * and the experts its decode steps route within (its expert budget) to the sequence's.
   */
  async createBatch(sequences: number, exclusive: <T>(f: () => Promise<T>) => Promise<T>): Promise<BatchDecoder> {
    const { cfg, device } = this;
    if (!Number.isSafeInteger(sequences) || sequences < 1 || sequences > cfg.contextLength) throw new Error(`a batch holds 1 to ${cfg.contextLength} sequences, got ${sequences}`);
    const [kernels, sample] = await Promise.all([batchKernels(device, cfg, sequences, this.weights.matrices), compileKernel(device, sampleKernel(cfg.vocabSize, true))]);
    const layout = kvCacheLayout(cfg, this.weights.matrices, device.limits.minStorageBufferOffsetAlignment, sequences);
    const caches = Array.from({ length: cfg.nLayers }, (_, l) => this.kvCache(`batch kv cache ${l}`, layout));
    /** Per-sequence buffers: a pass over n sequences touches n rows of each. */
    const rows = (label: string, perRow: number): GPUBuffer => this.rowBuffer(label, sequences, perRow);
    const io = { caches, logits: rows('batch logits', cfg.vocabSize), tokens: rows('batch tokens', 1), positions: rows('batch positions', 1), masks: rows('batch expert masks', cfg.nLayers * cfg.nExperts) };
    const buffers = { ...io, step: this.step, status: this.status, draws: rows('batch draws', 1), result: rows('batch result', 1) };
    const forward = this.record(kernels, io);
    const sampler = new Plan(device, this.extents);
    sampler.add(sample, { step: this.step, logits: io.logits, scratch: rows('batch sample scratch', sampleScratch(cfg.vocabSize)), result: buffers.result, tokens: io.tokens, draws: buffers.draws }, (n) => [n, 1, 1]);
    const load = (row: number, prompt: readonly number[], routing: Routing) =>
      exclusive(async () => {
        await this.prefill(prompt, routing);
        const { rowBytes, bytes } = this.cache;
        const used = this.pos * rowBytes;
        const encoder = device.createCommandEncoder();
        for (const [l, own] of this.caches.entries()) {
          encodeCopy(encoder, own.kv, 0, caches[l]!.kv, row * bytes, used, this.counters);
          encodeCopy(encoder, own.kv, own.v.offset, caches[l]!.kv, caches[l]!.v.offset + row * bytes, used, this.counters);
        }
        encodeCopy(encoder, this.logits, 0, io.logits, row * cfg.vocabSize * 4, cfg.vocabSize * 4, this.counters);
        this.encodeAllowed(encoder, io.masks, row);
        this.submit(encoder);
      });
    return new BatchDecoder(device, cfg, this.counters, sequences, buffers, { forward, sampler }, load, exclusive);
  }

  /** A buffer of `count` rows of `perRow` f32 values; a pass over n rows touches n of them (its extent). */
  private rowBuffer(label: string, count: number, perRow: number): GPUBuffer {
    const b = this.own(storageBuffer(this.device, label, count * perRow * 4));
    this.extents.set(b, rowsOf(4 * perRow));
    return b;
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }
}

/**
 * The kernels of an inference pass whose dense products and experts are cut as `shape`, with the
 * embedding, attention projections and KV cache stored as `s`; `batched`: row r is one token of
 * sequence r at its own position, with its own KV cache of contextLength rows and its own allowed
 * experts per layer (routeKernel's row masks), and every row gets logits (the batched decode pass); `attentionRows` > 1: the prompt pass's attention with that
 * many query rows per workgroup (promptAttentionKernel).
 */
function passSpecs(cfg: ModelConfig, route: RouteLayout, shape: PromptShape, s: Storage, batched: boolean, attentionRows: number) {
  const { rows, threads } = shape;
  const { dModel: d, nExperts: E, dFF: F, contextLength: ctx } = cfg;
  const heads = { nHeads: cfg.nHeads, headDim: headDim(cfg), maxKeys: ctx };
  const cacheRows = batched ? ctx : 0;
  const expert = { expert: expertLayout(d, F), route, weight: 'i8' as const, threads };
  const lin = (inF: number, outF: number, extra: { weight?: Storage; out?: Storage; outRowOffset?: boolean; residual?: boolean; rows?: 'step' | 'last'; tm?: number; cacheRows?: number } = {}) =>
    linearKernel({ inFeatures: inF, outFeatures: outF, weight: extra.weight ?? s, out: extra.out ?? 'f32', rowsPerThread: extra.tm ?? rows, rows: extra.rows ?? 'step', outRowOffset: extra.outRowOffset ?? false, residual: extra.residual ?? false, cacheRows: extra.cacheRows ?? 0, threads });
  return {
    embed: embeddingKernel(cfg.vocabSize, d, s),
    rms: rmsnormRowsKernel(d, cfg.normEps),
    linear: lin(d, d),
    linearKV: lin(d, d, { outRowOffset: !batched, cacheRows, out: s }),
    linearResidual: lin(d, d, { residual: true }),
    router: lin(d, E, { weight: 'f32' }),
    logits: batched ? lin(d, cfg.vocabSize) : lin(d, cfg.vocabSize, { rows: 'last', tm: 1 }),
    rope: ropeKernel(cfg.nHeads, headDim(cfg), 1, s, cacheRows),
    attention: attentionRows > 1 ? promptAttentionKernel(heads, s, attentionRows) : attentionKernel(heads, false, s, cacheRows),
    route: routeKernel(route, batched ? cfg.nLayers : null),
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
function decodeSpecs(cfg: ModelConfig, s: Storage, cache: KvCacheLayout) {
  const vElement = cache.vOffset / (s === 'f16' ? 2 : 4);
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

const alignTo = (bytes: number, alignment: number): number => Math.ceil(bytes / alignment) * alignment;

/** What a recorded pass reads and writes besides activations and weights (PassIO.positions and masks: the batched pass's, masks as routeKernel's row masks). */
interface PassIO {
  readonly caches: readonly KvCache[];
  readonly logits: GPUBuffer;
  readonly tokens: GPUBuffer;
  readonly positions: GPUBuffer | null;
  readonly masks: GPUBuffer | null;
}

/** A layer's KV cache: the whole buffer (keys, then values), and the keys and values as bindings. */
interface KvCache {
  readonly kv: GPUBuffer;
  readonly k: GPUBufferBinding & { readonly offset: number };
  readonly v: GPUBufferBinding & { readonly offset: number };
}

/**
 * A layer's KV cache is one buffer, keys first (contextLength rows of rowBytes per sequence: one,
 * or a batch's), values from byte vOffset on (the keys' size rounded up to the binding alignment),
 * so a kernel can append to both through one binding.
 */
interface KvCacheLayout {
  readonly rowBytes: number;
  /** Bytes of the keys (and of the values). */
  readonly bytes: number;
  readonly vOffset: number;
}

function kvCacheLayout(cfg: ModelConfig, s: Storage, alignment: number, sequences = 1): KvCacheLayout {
  const rowBytes = cfg.dModel * (s === 'f16' ? 2 : 4);
  const bytes = sequences * cfg.contextLength * rowBytes;
  return { rowBytes, bytes, vOffset: alignTo(bytes, alignment) };
}

type Kernels<S> = { readonly [K in keyof S]: Kernel };

type PassKernels = Kernels<ReturnType<typeof passSpecs>> & { readonly shape: PromptShape; readonly attentionRows: number; readonly routeLayout: RouteLayout; readonly fused: Kernels<ReturnType<typeof decodeSpecs>> | null };

/** A pass's kernels, with the fused decode kernels for a KV cache laid out as `fusedFor` (the one-token pass: ONE_ROW). */
async function passKernels(device: GPUDevice, cfg: ModelConfig, shape: PromptShape, s: Storage, fusedFor: KvCacheLayout | null): Promise<PassKernels> {
  const one = shape.rows === 1;
  const route = routeLayout(cfg.nExperts, cfg.topK, shape.rows, one ? 1 : cfg.contextLength, routerBase(cfg));
  const attentionRows = one ? 1 : PROMPT_ATTENTION_ROWS;
  const [base, fused] = await Promise.all([compileAll(device, passSpecs(cfg, route, shape, s, false, attentionRows)), fusedFor ? compileAll(device, decodeSpecs(cfg, s, fusedFor)) : null]);
  return { ...base, shape, attentionRows, routeLayout: route, fused };
}

/** The batched decode pass's kernels for up to `sequences` rows (4-row register blocks from 4 sequences on). */
async function batchKernels(device: GPUDevice, cfg: ModelConfig, sequences: number, s: Storage): Promise<PassKernels> {
  const shape = { rows: sequences >= BATCH_ROWS ? BATCH_ROWS : 1, threads: WORKGROUP };
  const route = routeLayout(cfg.nExperts, cfg.topK, shape.rows, sequences, routerBase(cfg));
  return { ...(await compileAll(device, passSpecs(cfg, route, shape, s, true, 1))), shape, attentionRows: 1, routeLayout: route, fused: null };
}

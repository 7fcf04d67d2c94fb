import type { Hash } from '@blyan/block';
import { Lineage, META_SLOT, ProvenHeaders, type RelayClient, relayDelegations } from '@blyan/client';
import { type InferenceState, MissingExpertError, type ModelConfig, type ParamMap, Rng, type Routing, type SamplingOptions, type SequenceBudget, StreamDecoder, Tokenizer, decodeStep, expertsUsed, sampleToken } from '@blyan/model';
import { type MetaPayload, type SlotPlan, expertSlotName, parseMetaPayload, slotParams, slotPlan, slotTensors } from '@blyan/model/blocks';
import type { AnswerEnd, AnswerStats, Backend, FromWorker, LayerRoute, RoutingMode, Sampling } from '../protocol.ts';
import { type ExpertCounts, blockTokens, routedCounts, spreadCounts } from '../usage/expert-tokens.ts';
import type { BlockCache } from './block-cache.ts';
import { BlockLoader } from './block-loader.ts';
import { type ExpertRef, type ExpertSets, loadPromptExperts } from './expert-plan.ts';
import { DownloadPlanner, PREDICTED_MASS, modeRouting, predictExperts } from './planner.ts';
import { type GpuRunner, isGpuFailure } from './gpu-runner.ts';
import { type HeadsSnapshot, currentHeads } from './model-state.ts';
import { OrtRunner } from './ort-runner.ts';
import { PhaseClock } from './phase-clock.ts';

export interface Prompt {
  id: number;
  text: string;
  sampling: Sampling;
  routing: RoutingMode;
}

interface Model {
  meta: Hash;
  payload: MetaPayload;
  tokenizer: Tokenizer;
  slots: Map<string, SlotPlan>;
  /** Dense weights plus the experts loaded so far (f32, for the CPU reference and the router probe). */
  params: ParamMap;
  /** Slot → block hash of each loaded slot. */
  loaded: Map<string, Hash>;
  /** The WebGPU engine for this model being created: uploads wait for it. */
  engine: Promise<void>;
}

/** One answer being generated, as the backends see it. */
interface Run {
  /** The prompt's tokens. */
  tokens: number[];
  /** The answer's first token: sampled from the prompt pass's logits, streamed already. */
  first: number;
  /** Tokens still to generate after the first. */
  maxTokens: number;
  sampling: SamplingOptions;
  seed: number;
  /** The sampler's draws after the first token's (the CPU and wasm backends go on with them). */
  rng: Rng;
  /** The CPU reference's prefill of the prompt (the first token's logits came from it), its experts loaded. */
  prompt: InferenceState;
  routing: Routing;
  /** Per layer, what the prompt needed (static: the static sets). */
  sets: ExpertSets;
  /** What a token needs: awaits a predicted expert's prefetch, else fetches it on demand (the planner). */
  loadExperts(refs: ExpertRef[]): Promise<void>;
  /** Streams one sampled token; false = stop generating. */
  emit(token: number): Promise<boolean>;
}

/** A backend hands the answer its routing: per layer the experts used, and the tokens each computed. */
type OnRoute = (used: () => number[][], counts: () => ExpertCounts) => void;

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The model in the worker: keeps the slot heads in step with the relay (each prompt starts with a
 * check, so a new expert version is used by the next prompt that routes to it), uses a head only
 * once its lineage is verified back to the pinned genesis (Lineage), loads the meta and
 * dense blocks, fetches only the experts a prompt routes to, and streams the answer on WebGPU,
 * onnxruntime-web (wasm) or the CPU reference, falling back in that order with a notice.
 */
export class ModelSession {
  private snapshot: HeadsSnapshot | null = null;
  private model: Model | null = null;
  private readonly loader: BlockLoader;
  private readonly lineage: Lineage;
  /** Headers of the shipped genesis and of the relay's last listing, by their own hash. */
  private readonly proven = new ProvenHeaders();
  private ort: OrtRunner | null = null;
  /** The engine compile the page was told about (GpuRunner.compile answers the same one until an engine is reset or a compile fails). */
  private toldCompile: Promise<number> | null = null;
  /** Where the time goes: the start's phases until the first answer, then each answer's own. */
  clock = new PhaseClock();

  constructor(
    private readonly client: RelayClient,
    /** The genesis meta block this build trusts: every head is verified back to it before use. */
    pin: Hash,
    private readonly cache: BlockCache,
    private readonly post: (m: FromWorker) => void,
    /** The backend to use: webgpu needs `gpu`. */
    private backend: Backend,
    private gpu: GpuRunner | null,
    /** The signed genesis headers this build shipped beside the pin: proven by hashing, so the check stops at genesis. */
    genesisHeaders?: readonly unknown[],
  ) {
    this.proven.add(genesisHeaders ?? []);
    this.loader = new BlockLoader(client, cache, (event) => post({ type: 'block', event }), () => this.heads(), this.proven);
    this.lineage = new Lineage(pin, relayDelegations(client), genesisHeaders);
  }

  private heads(): Set<string> {
    const p = this.snapshot?.params;
    return new Set(p ? [p.meta, ...Object.values(p.slots)] : []);
  }

  private postCache(): void {
    this.post({ type: 'cache', bytes: this.cache.bytes, blocks: this.cache.size });
  }

  /** Runs on `backend` from now on (the engine calibration's choice), releasing WebGPU when that is not it. */
  useBackend(backend: Backend, notice: string): void {
    if (backend !== 'webgpu') {
      this.gpu?.destroy();
      this.gpu = null;
    }
    this.backend = backend;
    this.post({ type: 'backend', backend, notice });
  }

  /** Leaves WebGPU for onnxruntime-web's wasm backend, saying why. */
  private dropGpu(reason: string): void {
    this.gpu?.destroy();
    this.gpu = null;
    this.backend = 'wasm';
    this.post({ type: 'backend', backend: 'wasm', notice: `WebGPU failed (${reason}); the model now runs on onnxruntime-web (wasm) in a worker, more slowly.` });
  }

  /** The wasm session for this model, opened on first use; null (and the CPU reference from now on) if it cannot start. */
  private async ortFor(cfg: ModelConfig): Promise<OrtRunner | null> {
    if (this.ort) return this.ort;
    try {
      this.ort = await OrtRunner.open(cfg);
      return this.ort;
    } catch (e) {
      this.backend = 'cpu';
      this.post({ type: 'backend', backend: 'cpu', notice: `onnxruntime-web could not start (${(e as Error).message}); the model runs on the CPU reference in a worker.` });
      return null;
    }
  }

  /** Brings the model to the relay's current heads, verified back to the pinned genesis (or the saved ones offline). */
  async sync(): Promise<Model> {
    const { snapshot, online } = await this.clock.time('heads and trust check', () => currentHeads(this.client, this.cache, this.lineage, this.snapshot, this.proven));
    this.snapshot = snapshot;
    const { params } = snapshot;
    const model = this.model !== null && this.model.meta === params.meta ? this.model : await this.loadMeta(params.meta);
    for (const [slot, hash] of model.loaded) {
      if (params.slots[slot] !== hash) this.unload(model, slot);
    }
    const dense = [...model.slots.values()].filter((s) => s.type !== 'expert' && !model.loaded.has(s.name));
    await Promise.all(dense.map((s) => this.loadSlot(model, s.name)));
    await model.engine;
    this.model = model;
    const { config, routing } = model.payload;
    this.post({ type: 'model', info: { meta: model.meta, config, staticExpertsPerLayer: routing.staticExpertsPerLayer, modelBytes: snapshot.modelBytes, online, trust: snapshot.trust } });
    this.postCache();
    return model;
  }

  private async loadMeta(hash: Hash): Promise<Model> {
    this.post({ type: 'status', text: 'loading the model spec and dense blocks' });
    const meta = await this.loader.load(hash, META_SLOT, new Set([hash]), this.clock);
    const payload = parseMetaPayload(meta.payload);
    await this.ort?.release();
    this.ort = null;
    const engine = this.startEngine(payload.config);
    if (this.backend === 'wasm') await this.clock.time('onnxruntime-web session', () => this.ortFor(payload.config));
    const slots = new Map(slotPlan(payload.config).map((s) => [s.name, s]));
    return { meta: hash, payload, tokenizer: Tokenizer.fromJSON(payload.tokenizer), slots, params: {}, loaded: new Map(), engine };
  }

  /**
   * Creates the WebGPU engine for `cfg` (its buffers; its pipelines compile after the start:
   * `compileEngine`) while the dense blocks download; resolves once it is ready, or once WebGPU is
   * dropped for wasm because it failed.
   */
  private startEngine(cfg: ModelConfig): Promise<void> {
    const gpu = this.gpu;
    if (!gpu) return Promise.resolve();
    const ready = this.clock.time('engine: creation', () => gpu.reset(cfg)).catch((e: unknown) => {
      if (!isGpuFailure(e)) throw e;
      this.dropGpu((e as Error).message);
    });
    // Awaited by sync and every upload; this only keeps a failure from counting as unhandled when a download fails first.
    ready.catch(() => undefined);
    return ready;
  }

  /**
   * Compiles the WebGPU engine's pipelines left for after the start (once per engine:
   * GpuRunner.compile) and tells the page how long they took, once per compile: a later answer
   * or the idle compile that finds it done or running waits for it silently.
   */
  private async compileEngine(gpu: GpuRunner): Promise<void> {
    const compiling = gpu.compile();
    if (compiling === this.toldCompile) {
      await compiling;
      return;
    }
    this.toldCompile = compiling;
    this.post({ type: 'compiled', ms: await compiling });
  }

  /**
   * Compiles the engine's pipelines in the background, while the page waits for a prompt (the
   * worker calls it a moment after the start). A failure is left to the answer that needs them,
   * which compiles them again and reports what fails.
   */
  compileWhileIdle(): void {
    if (this.gpu) this.compileEngine(this.gpu).catch(() => undefined);
  }

  /** Where the WebGPU engine's pipelines are now (pass → state; none off WebGPU). */
  pipelines(): ReturnType<GpuRunner['pipelines']> {
    return this.gpu?.pipelines() ?? {};
  }

  private unload(model: Model, slot: string): void {
    const plan = model.slots.get(slot);
    for (const { name } of plan?.tensors ?? []) delete model.params[name];
    if (plan?.type === 'expert') this.gpu?.evictExpert(plan.layer, plan.expert);
    model.loaded.delete(slot);
  }

  /**
   * Fetches (or reads from the cache) a slot's head into the model. The cache may evict any block
   * but the ones the model holds in memory (the meta and every loaded slot): those the running
   * answer uses.
   */
  private async loadSlot(model: Model, slot: string): Promise<'network' | 'cache'> {
    const plan = model.slots.get(slot);
    const hash = this.snapshot!.params.slots[slot];
    if (!plan || !hash) throw new Error(`the model has no slot ${slot} on the relay's ParamIndex`);
    const block = await this.loader.load(hash, slot, new Set([model.meta, ...model.loaded.values()]), this.clock);
    Object.assign(model.params, slotParams(plan, block.payload));
    await model.engine;
    const gpu = this.gpu;
    if (gpu) this.clock.timeSync('GPU upload', () => gpu.load(slotTensors(plan, block.payload)));
    model.loaded.set(slot, hash);
    return block.source;
  }

  async answer(p: Prompt, stopped: () => boolean): Promise<void> {
    const t0 = performance.now();
    const clock = (this.clock = new PhaseClock());
    const downloadedBefore = this.loader.downloaded;
    const model = await this.sync();
    const downloadedBeforeExperts = this.loader.downloaded;
    const { config: cfg, routing: metaRouting } = model.payload;
    const { tokenizer } = model;
    const encoded = tokenizer.encode(p.text);
    if (encoded.length === 0) throw new Error('the prompt is empty');
    const maxTokens = Math.max(1, Math.min(p.sampling.maxTokens, cfg.contextLength - 1));
    const tokens = encoded.slice(-(cfg.contextLength - maxTokens));
    const routing = modeRouting(p.routing, metaRouting, cfg);
    // Where each expert of this answer came from; those already in memory count as cached.
    const sources = new Map<string, 'network' | 'cache'>([...model.loaded.keys()].map((slot) => [slot, 'cache']));
    let route: () => LayerRoute[] = () => [];
    let computed: () => ExpertCounts = () => [];
    const planner = new DownloadPlanner(
      async ({ layer, expert }) => {
        const slot = expertSlotName(layer, expert);
        const source = await this.loadSlot(model, slot);
        sources.set(slot, source);
        this.postCache();
        this.post({ type: 'route', id: p.id, layers: route() });
        return source;
      },
      (fetches) => this.post({ type: 'plan', id: p.id, fetches: [...fetches] }),
    );
    // The prompt's set first (its pass on the CPU, layer by layer), then what the answer will likely need, in the background.
    const promptSet = (refs: ExpertRef[]) => {
      this.post({ type: 'status', text: `fetching the prompt's experts of layer ${refs[0]!.layer}: ${refs.map((r) => r.expert).join(', ')}` });
      return planner.prompt(refs);
    };
    const { sets, mass, logits, state } = await loadPromptExperts(model.params, cfg, tokens, routing, promptSet, clock);
    planner.setMass(mass);
    planner.prefetch(predictExperts(mass, PREDICTED_MASS, ({ layer, expert }) => model.loaded.has(expertSlotName(layer, expert)) || !allowedIn(routing, sets, layer, expert)));
    this.post({ type: 'status', text: 'generating' });

    const decoder = new StreamDecoder(tokenizer);
    let produced = 0;
    let ttftMs = 0;
    let ttftParts: Record<string, number> = {};
    let end: AnswerEnd = 'context-full';
    const sampling = { temperature: p.sampling.temperature, topK: p.sampling.topK, topP: p.sampling.topP };
    const rng = new Rng(p.sampling.seed);
    const first = sampleToken(logits, sampling, rng);
    const run: Run = {
      tokens,
      first,
      maxTokens: maxTokens - 1,
      sampling,
      seed: p.sampling.seed,
      rng,
      prompt: state,
      routing,
      sets,
      loadExperts: (refs) => {
        this.post({ type: 'status', text: `fetching ${refs.map((r) => expertSlotName(r.layer, r.expert)).join(', ')} (a token needs it)` });
        return planner.demand(refs).then(() => this.post({ type: 'status', text: 'generating' }));
      },
      emit: async (token) => {
        if (token === tokenizer.endOfTextId || stopped()) {
          end = stopped() ? 'stopped' : 'end-of-text';
          return false;
        }
        produced++;
        if (produced === 1) {
          ttftMs = performance.now() - t0;
          ttftParts = clock.totals(t0 + ttftMs);
        }
        this.post({ type: 'token', id: p.id, text: decoder.push(token) });
        await nextTurn();
        if (stopped()) end = 'stopped';
        else if (produced >= maxTokens) end = 'max-tokens';
        return end === 'context-full';
      },
    };
    const staticSets = routing.mode === 'dynamic' ? null : sets;
    const onRoute: OnRoute = (used, counts) => {
      computed = counts;
      route = () => routeMap(cfg, used(), staticSets, sources);
      this.post({ type: 'route', id: p.id, layers: route() });
    };
    // The first token comes from the prompt's pass; a backend runs the rest of the answer.
    onRoute(...cpuRoute(state, cfg.nExperts));
    const more = await run.emit(first);
    const firstProduced = produced;
    if (more && this.backend === 'webgpu' && this.gpu) {
      try {
        await this.generateOnGpu(this.gpu, model, run, onRoute);
      } catch (e) {
        if (!isGpuFailure(e) || produced > firstProduced) throw e;
        this.dropGpu((e as Error).message);
      }
    }
    if (more && this.backend === 'wasm') {
      const ort = await this.ortFor(cfg);
      if (ort) await this.generateOnWasm(ort, model, run, onRoute);
    }
    if (more && this.backend === 'cpu') await this.generateOnCpu(run);
    await planner.settle();
    await clock.time('IndexedDB write', () => this.cache.flush());
    const tail = decoder.flush();
    if (tail) this.post({ type: 'token', id: p.id, text: tail });
    const layers = route();
    this.post({ type: 'route', id: p.id, layers });
    const expertBlocks: Record<string, string> = {};
    for (const [l, r] of layers.entries()) for (const e of r.selected ?? r.used) expertBlocks[expertSlotName(l, e)] = model.loaded.get(expertSlotName(l, e))!;
    const stats: AnswerStats = {
      tokens: produced,
      end,
      promptTokens: encoded.length,
      promptTokensRead: tokens.length,
      contextLength: cfg.contextLength,
      ttftMs,
      ttftParts,
      totalMs: performance.now() - t0,
      bytesDownloaded: this.loader.downloaded - downloadedBefore,
      expertBytesDownloaded: this.loader.downloaded - downloadedBeforeExperts,
      expertsDownloaded: planner.fetches.filter((f) => f.source === 'network').length,
      expertsFromCache: layers.reduce((s, r) => s + r.cached.length, 0),
      expertBlocks,
      expertTokens: blockTokens(computed(), (l, e) => model.loaded.get(expertSlotName(l, e))!),
    };
    this.post({ type: 'done', id: p.id, stats, stopped: stopped() });
  }

  /**
   * onnxruntime-web: each step runs the whole sequence (the graph has no KV cache) and reports every
   * token's routing, so a step that routed to an expert not fetched (fed as zeros) is exact up to
   * that layer: its missing experts are fetched and the step runs again.
   */
  private async generateOnWasm(ort: OrtRunner, model: Model, run: Run, onRoute: OnRoute): Promise<void> {
    const cfg = model.payload.config;
    const seq = [...run.tokens, run.first];
    // A model with sequence budgets chooses each layer's set in the graph from the prompt (expert_budgets, prompt_lengths); others get the sets as masks.
    const budgeted = cfg.sequenceBudgets !== undefined;
    const masks = run.routing.mode === 'dynamic' || budgeted ? run.sets.map(() => null) : run.sets;
    const budget = (length: number): SequenceBudget | null =>
      !budgeted ? null : run.routing.mode === 'static-prompt' ? { experts: run.routing.expertsPerLayer, promptTokens: run.tokens.length } : { experts: cfg.nExperts, promptTokens: length };
    let routed: number[][][] = run.prompt.routes.map((positions) => positions.map((r) => r.experts));
    onRoute(
      () => routed.map((tokens) => [...new Set(tokens.flat())].sort((a, b) => a - b)),
      () => routedCounts(routed, cfg.nExperts),
    );
    for (;;) {
      // The experts this pass runs with: a prefetch may land while it runs, after its zeros were fed.
      const present = new Set(model.loaded.keys());
      const pass = await ort.forward(model.params, seq, masks, budget(seq.length));
      const layer = pass.routed.findIndex((tokens, l) => tokens.some((experts) => experts.some((e) => !present.has(expertSlotName(l, e)))));
      if (layer >= 0) {
        const missing = [...new Set(pass.routed[layer]!.flat())].filter((e) => !present.has(expertSlotName(layer, e)));
        await run.loadExperts(missing.map((expert) => ({ layer, expert })));
        continue;
      }
      routed = pass.routed;
      const token = sampleToken(pass.logits, run.sampling, run.rng);
      if (!(await run.emit(token)) || seq.length >= cfg.contextLength) return;
      seq.push(token);
    }
  }

  /** The CPU reference, on from the prompt's pass (its KV cache); a decode step routed to an absent expert fetches it and runs again. */
  private async generateOnCpu(run: Run): Promise<void> {
    const state = run.prompt;
    let token = run.first;
    while (state.pos < state.cfg.contextLength) {
      const logits = await decodeRetrying(state, token, run.loadExperts);
      token = sampleToken(logits, run.sampling, run.rng);
      if (!(await run.emit(token))) return;
    }
  }

  /**
   * The WebGPU engine. Its routing is not read back per token, so the map shows the experts the
   * prompt needed plus every one a decode step asked for, and the token counts are estimated.
   */
  private async generateOnGpu(gpu: GpuRunner, model: Model, run: Run, onRoute: OnRoute): Promise<void> {
    const { nExperts, topK } = model.payload.config;
    const needed = run.sets.map((s) => new Set(s));
    const used = () => needed.map((s) => [...s].sort((a, b) => a - b));
    onRoute(used, () => spreadCounts(used(), gpu.position, topK, nExperts));
    const load = async (refs: ExpertRef[]) => {
      for (const { layer, expert } of refs) needed[layer]!.add(expert);
      await run.loadExperts(refs);
    };
    const gpuRouting: Routing = run.routing.mode === 'dynamic' ? run.routing : { mode: 'static', allowed: run.sets };
    const clock = this.clock;
    // The pipelines left for after the start: compiling since the page waited for a prompt, or from now on.
    await clock.time('GPU pipelines (compiled after the start)', () => this.compileEngine(gpu));
    // The prompt and the first token (the CPU's) fill the GPU's KV cache in one pass.
    await clock.time('GPU prefill: upload and submit', () => gpu.prefill([...run.tokens, run.first], gpuRouting, load));
    // The second token waits for the prefill's GPU work to finish, then samples and reads back.
    const submitted = performance.now();
    let first = true;
    // The GPU's sampler draws from seed + 1 on: the first token's draw was the CPU's.
    await gpu.generate(run.maxTokens, run.sampling, run.seed + 1, load, (token) => {
      if (first) clock.add('GPU prefill: run, sample and readback', submitted, performance.now());
      first = false;
      return run.emit(token);
    });
  }
}

/** Whether routing may send a token of this answer to the expert: under a prompt-chosen set, only its members. */
function allowedIn(routing: Routing, sets: ExpertSets, layer: number, expert: number): boolean {
  return routing.mode === 'dynamic' || (sets[layer]?.includes(expert) ?? false);
}

/** The route map's sources for a run on the CPU reference's state: per layer the experts used, and the tokens each computed. */
function cpuRoute(state: InferenceState, nExperts: number): Parameters<OnRoute> {
  return [() => expertsUsed(state), () => routedCounts(state.routes.map((positions) => positions.map((r) => r.experts)), nExperts)];
}

async function decodeRetrying(state: InferenceState, token: number, load: (refs: ExpertRef[]) => Promise<void>): Promise<Float32Array> {
  for (;;) {
    try {
      return decodeStep(state, token);
    } catch (e) {
      if (!(e instanceof MissingExpertError)) throw e;
      await load([{ layer: e.layer, expert: e.expert }]);
    }
  }
}

function routeMap(cfg: ModelConfig, used: number[][], selected: number[][] | null, sources: Map<string, 'network' | 'cache'>): LayerRoute[] {
  return Array.from({ length: cfg.nLayers }, (_, l) => {
    const needed = selected?.[l] ?? used[l] ?? [];
    const from = (s: 'network' | 'cache') => needed.filter((e) => sources.get(expertSlotName(l, e)) === s);
    return { used: used[l] ?? [], selected: selected?.[l] ?? null, downloaded: from('network'), cached: from('cache') };
  });
}

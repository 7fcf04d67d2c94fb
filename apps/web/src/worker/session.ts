import type { Hash } from '@blyan/block';
import type { RelayClient } from '@blyan/client';
import { MissingExpertError, type ModelConfig, type ParamMap, Rng, type Routing, StreamDecoder, Tokenizer, decodeStep, expertsUsed, prefill, sampleToken } from '@blyan/model';
import { type MetaPayload, type SlotPlan, expertSlotName, parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import type { AnswerStats, FromWorker, LayerRoute, RoutingMode, Sampling } from '../protocol.ts';
import type { BlockCache } from './block-cache.ts';
import { BlockLoader } from './block-loader.ts';
import { type ExpertRef, loadPromptExperts } from './expert-plan.ts';
import { type HeadsSnapshot, currentHeads } from './model-state.ts';

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
  /** Dense weights plus the experts loaded so far (f32, for the CPU reference). */
  params: ParamMap;
  /** Slot → block hash of each loaded slot. */
  loaded: Map<string, Hash>;
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The model in the worker: keeps the slot heads in step with the relay (each prompt starts with a
 * check, so a new expert version is used by the next prompt that routes to it), loads the meta and
 * dense blocks, fetches only the experts a prompt routes to, and streams the answer.
 */
export class ModelSession {
  private snapshot: HeadsSnapshot | null = null;
  private model: Model | null = null;
  private readonly loader: BlockLoader;

  constructor(
    private readonly client: RelayClient,
    private readonly cache: BlockCache,
    private readonly post: (m: FromWorker) => void,
  ) {
    this.loader = new BlockLoader(client, cache, (event) => post({ type: 'block', event }), () => this.heads());
  }

  private heads(): Set<string> {
    const p = this.snapshot?.params;
    return new Set(p ? [p.meta, ...Object.values(p.slots)] : []);
  }

  private postCache(): void {
    this.post({ type: 'cache', bytes: this.cache.bytes, blocks: this.cache.size });
  }

  /** Brings the model to the relay's current heads (or the saved ones offline). */
  async sync(): Promise<Model> {
    const { snapshot, online } = await currentHeads(this.client, this.cache, this.snapshot);
    this.snapshot = snapshot;
    const { params } = snapshot;
    const pinned = this.heads();
    const model = this.model !== null && this.model.meta === params.meta ? this.model : await this.loadMeta(params.meta, pinned);
    for (const [slot, hash] of model.loaded) {
      if (params.slots[slot] !== hash) this.unload(model, slot);
    }
    const dense = [...model.slots.values()].filter((s) => s.type !== 'expert' && !model.loaded.has(s.name));
    await Promise.all(dense.map((s) => this.loadSlot(model, s.name, pinned)));
    this.model = model;
    const { config, routing } = model.payload;
    this.post({ type: 'model', info: { meta: model.meta, config, staticExpertsPerLayer: routing.staticExpertsPerLayer, modelBytes: snapshot.modelBytes, online } });
    this.postCache();
    return model;
  }

  private async loadMeta(hash: Hash, pinned: ReadonlySet<string>): Promise<Model> {
    this.post({ type: 'status', text: 'loading the model spec and dense blocks' });
    const meta = await this.loader.load(hash, 'A/meta', pinned);
    const payload = parseMetaPayload(meta.payload);
    const slots = new Map(slotPlan(payload.config).map((s) => [s.name, s]));
    return { meta: hash, payload, tokenizer: Tokenizer.fromJSON(payload.tokenizer), slots, params: {}, loaded: new Map() };
  }

  private unload(model: Model, slot: string): void {
    for (const { name } of model.slots.get(slot)?.tensors ?? []) delete model.params[name];
    model.loaded.delete(slot);
  }

  private async loadSlot(model: Model, slot: string, pinned: ReadonlySet<string>): Promise<'network' | 'cache'> {
    const plan = model.slots.get(slot);
    const hash = this.snapshot!.params.slots[slot];
    if (!plan || !hash) throw new Error(`the model has no slot ${slot} on the relay's ParamIndex`);
    const block = await this.loader.load(hash, slot, pinned);
    Object.assign(model.params, slotParams(plan, block.payload));
    model.loaded.set(slot, hash);
    return block.source;
  }

  async answer(p: Prompt, stopped: () => boolean): Promise<void> {
    const t0 = performance.now();
    const downloadedBefore = this.loader.downloaded;
    const model = await this.sync();
    const { config: cfg, routing: metaRouting } = model.payload;
    const { tokenizer } = model;
    const encoded = tokenizer.encode(p.text);
    if (encoded.length === 0) throw new Error('the prompt is empty');
    const maxTokens = Math.max(1, Math.min(p.sampling.maxTokens, cfg.contextLength - 1));
    const tokens = encoded.slice(-(cfg.contextLength - maxTokens));
    const routing: Routing = p.routing === 'static' ? { mode: 'static-prompt', expertsPerLayer: metaRouting.staticExpertsPerLayer } : { mode: 'dynamic' };
    const sources = new Map<string, 'network' | 'cache'>();
    const pinned = this.heads();
    const loadExperts = async (refs: ExpertRef[]) => {
      this.post({ type: 'status', text: `fetching ${refs.map((r) => expertSlotName(r.layer, r.expert)).join(', ')}` });
      await Promise.all(
        refs.map(async ({ layer, expert }) => {
          const slot = expertSlotName(layer, expert);
          sources.set(slot, await this.loadSlot(model, slot, pinned));
        }),
      );
      this.postCache();
    };
    // Experts already loaded from an earlier prompt count as served from the cache.
    for (const slot of model.loaded.keys()) sources.set(slot, 'cache');
    const sets = await loadPromptExperts(model.params, cfg, tokens, routing, loadExperts);
    this.post({ type: 'status', text: 'generating' });
    let { logits, state } = prefill(model.params, cfg, tokens, routing);
    const route = (): LayerRoute[] => routeMap(cfg, expertsUsed(state), routing.mode === 'dynamic' ? null : sets, sources);
    this.post({ type: 'route', id: p.id, layers: route() });

    const rng = new Rng(p.sampling.seed);
    const decoder = new StreamDecoder(tokenizer);
    let produced = 0;
    let ttftMs = 0;
    while (produced < maxTokens && !stopped()) {
      const token = sampleToken(logits, { temperature: p.sampling.temperature, topK: p.sampling.topK, topP: p.sampling.topP }, rng);
      if (token === tokenizer.endOfTextId) break;
      produced++;
      if (produced === 1) ttftMs = performance.now() - t0;
      this.post({ type: 'token', id: p.id, text: decoder.push(token) });
      if (produced === maxTokens || state.pos >= cfg.contextLength) break;
      await nextTurn();
      for (;;) {
        try {
          logits = decodeStep(state, token);
          break;
        } catch (e) {
          if (!(e instanceof MissingExpertError)) throw e;
          await loadExperts([{ layer: e.layer, expert: e.expert }]);
          this.post({ type: 'route', id: p.id, layers: route() });
        }
      }
    }
    const tail = decoder.flush();
    if (tail) this.post({ type: 'token', id: p.id, text: tail });
    this.post({ type: 'route', id: p.id, layers: route() });
    const layers = route();
    const expertBlocks: Record<string, string> = {};
    for (const [l, r] of layers.entries()) for (const e of r.selected ?? r.used) expertBlocks[expertSlotName(l, e)] = model.loaded.get(expertSlotName(l, e))!;
    const stats: AnswerStats = {
      tokens: produced,
      ttftMs,
      totalMs: performance.now() - t0,
      bytesDownloaded: this.loader.downloaded - downloadedBefore,
      expertsDownloaded: layers.reduce((s, r) => s + r.downloaded.length, 0),
      expertsFromCache: layers.reduce((s, r) => s + r.cached.length, 0),
      expertBlocks,
    };
    this.post({ type: 'done', id: p.id, stats, stopped: stopped() });
  }
}

function routeMap(cfg: ModelConfig, used: number[][], selected: number[][] | null, sources: Map<string, 'network' | 'cache'>): LayerRoute[] {
  return Array.from({ length: cfg.nLayers }, (_, l) => {
    const needed = selected?.[l] ?? used[l] ?? [];
    const from = (s: 'network' | 'cache') => needed.filter((e) => sources.get(expertSlotName(l, e)) === s);
    return { used: used[l] ?? [], selected: selected?.[l] ?? null, downloaded: from('network'), cached: from('cache') };
  });
}

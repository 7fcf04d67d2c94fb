import type { Hash } from '@blyan/block';
import { type ModelConfig, type ParamMap, Tokenizer } from '@blyan/model';
import { type MetaPayload, type SlotPlan, parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { type Doc, hashSplit } from '@blyan/model/data';
import { type Window, evalStream } from '@blyan/model/eval';
import { OnnxModel } from '@blyan/model/onnx';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { evalPool, hiddenPassages } from './eval-pool.ts';
import { drawWindows } from './sample.ts';
import { windowNats } from './window-nats.ts';

export interface HiddenEvalOptions {
  /** Windows of contextLength tokens drawn from the pool's token stream per evaluation. */
  readonly windows: number;
  /** Windows per forward pass. */
  readonly perBatch: number;
  /** ONNX Runtime intra-op threads (1 leaves a core to serving on a 2-core relay). */
  readonly threads: number;
  /** Fraction of the hidden split's passages the keyed pool keeps. */
  readonly poolFraction: number;
  /** The hidden split; its hash must equal the meta block's `splits.hidden`. */
  readonly hiddenDocs: () => readonly Doc[];
}

/** What judging under a meta block needs: its config, slot plan, the pool's token stream and an ORT session. */
export interface EvalContext {
  readonly meta: Hash;
  readonly payload: MetaPayload;
  readonly plan: ReadonlyMap<string, SlotPlan>;
  /** Ids of the pool's passages, in stream order. */
  readonly pool: readonly string[];
  /** The pool's passages tokenized as documents (evalStream). */
  readonly stream: Int32Array;
  /** UTF-8 bytes of the pool's passages: with the stream's length, the bytes per token that turn nats/token into bits per byte. */
  readonly bytes: number;
  /** Inputs per window: contextLength, or less for a short stream. */
  readonly length: number;
  readonly model: OnnxModel;
}

export interface Judgement {
  /** Mean cross-entropy (nats/token) over the drawn windows, base model and with the candidate. */
  readonly baseline: number;
  readonly candidate: number;
  readonly tokens: number;
  /** Wall time of both passes. */
  readonly ms: number;
}

/**
 * Held-out loss on the operator-private evaluation pool: the hidden split's passages kept by the
 * store's secret (evalPool), tokenized with the meta block's tokenizer. Each judgement draws its
 * windows from the pool's stream by its own seed, and runs the base model and the candidate on
 * the same windows (paired) through the ONNX forward graph.
 */
export class HiddenEvaluator {
  private readonly contexts = new Map<Hash, Promise<EvalContext>>();
  private base: { key: string; params: Promise<ParamMap> } | undefined;

  constructor(
    private readonly index: IndexStore,
    private readonly objects: ObjectStore,
    private readonly secret: Uint8Array,
    private readonly opts: HiddenEvalOptions,
  ) {}

  /** The evaluation context of a meta block; throws if the hidden split is not the one the model names. */
  context(meta: Hash): Promise<EvalContext> {
    let ctx = this.contexts.get(meta);
    if (ctx === undefined) {
      ctx = this.build(meta);
      ctx.catch(() => this.contexts.delete(meta));
      this.contexts.set(meta, ctx);
    }
    return ctx;
  }

  private async build(meta: Hash): Promise<EvalContext> {
    const block = await this.index.block(meta);
    if (block?.header.type !== 'meta') throw new Error(`${meta} is not a meta block`);
    const payload = parseMetaPayload(await this.objects.read(block.header.payload_hash));
    const docs = this.opts.hiddenDocs();
    const hash = hashSplit(docs);
    if (hash !== payload.splits.hidden) throw new Error(`the relay's hidden split hashes to ${hash}, the model names ${payload.splits.hidden}`);
    const cfg: ModelConfig = payload.config;
    const pool = evalPool(this.secret, hiddenPassages(docs), this.opts.poolFraction);
    const stream = evalStream(Tokenizer.fromJSON(payload.tokenizer), pool.map((p) => p.text));
    const length = Math.min(cfg.contextLength, stream.length - 1);
    if (length < 1) throw new Error(`the evaluation pool holds ${pool.length} passages, too few tokens to judge on`);
    const plan = new Map(slotPlan(cfg).map((s) => [s.name, s]));
    const bytes = pool.reduce((n, p) => n + new TextEncoder().encode(p.text).length, 0);
    return { meta, payload, plan, pool: pool.map((p) => p.id), stream, bytes, length, model: OnnxModel.create(cfg, { intraOpThreads: this.opts.threads }) };
  }

  /** Mean per-token cross-entropy of `params` over windows of the context's stream. */
  async crossEntropy(ctx: EvalContext, params: ParamMap, windows: readonly Window[]): Promise<number> {
    return (await windowNats(ctx.model, params, ctx.stream, windows, ctx.length, this.opts.perBatch)) / (windows.length * ctx.length);
  }

  /** The model as the slot heads `heads` make it, f32 (int8 experts multiplied out). */
  async assemble(ctx: EvalContext, heads: Readonly<Record<string, Hash>>): Promise<ParamMap> {
    const params: ParamMap = {};
    for (const [name, slot] of ctx.plan) {
      const hash = heads[name];
      const b = hash === undefined ? undefined : await this.index.block(hash);
      if (b === undefined) throw new Error(`slot ${name} has no block`);
      Object.assign(params, slotParams(slot, await this.objects.read(b.header.payload_hash)));
    }
    return params;
  }

  /** The model of `heads` against the same model with `slot` replaced by `payload`, on the windows `seed` draws. */
  async judge(ctx: EvalContext, heads: Readonly<Record<string, Hash>>, slot: string, payload: Uint8Array, seed: Hash): Promise<Judgement> {
    const key = `${ctx.meta}:${JSON.stringify(heads)}`;
    if (this.base?.key !== key) {
      const params = this.assemble(ctx, heads);
      params.catch(() => (this.base = undefined));
      this.base = { key, params };
    }
    const params = await this.base.params;
    const windows = drawWindows(seed, ctx.stream.length, ctx.length, this.opts.windows);
    const start = performance.now();
    const baseline = await this.crossEntropy(ctx, params, windows);
    const candidate = await this.crossEntropy(ctx, { ...params, ...slotParams(ctx.plan.get(slot)!, payload) }, windows);
    return { baseline, candidate, tokens: windows.length * ctx.length, ms: performance.now() - start };
  }

  async dispose(): Promise<void> {
    const contexts = [...this.contexts.values()];
    this.contexts.clear();
    for (const c of contexts) await (await c.catch(() => undefined))?.model.dispose();
  }
}

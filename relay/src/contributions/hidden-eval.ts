import type { Hash } from '@blyan/block';
import { type ModelConfig, type ParamMap, Tokenizer } from '@blyan/model';
import { type MetaPayload, type SlotPlan, parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { type Doc, hashSplit } from '@blyan/model/data';
import { evalStream, spreadWindows, windowBatch } from '@blyan/model/eval';
import { OnnxModel } from '@blyan/model/onnx';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

export interface HiddenEvalOptions {
  /** Windows of contextLength tokens spread evenly over the hidden split's token stream. */
  readonly windows: number;
  /** Windows per forward pass. */
  readonly perBatch: number;
  /** ONNX Runtime intra-op threads (1 leaves a core to serving on a 2-core relay). */
  readonly threads: number;
  /** The hidden split; its hash must equal the meta block's `splits.hidden`. */
  readonly hiddenDocs: () => readonly Doc[];
}

/** What judging a model version needs: its config, slot plan, the fixed hidden batches and an ORT session. */
export interface EvalContext {
  readonly meta: Hash;
  readonly payload: MetaPayload;
  readonly plan: ReadonlyMap<string, SlotPlan>;
  readonly batches: readonly { inputs: Int32Array; targets: Int32Array; B: number; T: number }[];
  readonly tokens: number;
  readonly model: OnnxModel;
}

export interface Judgement {
  /** Mean cross-entropy (nats/token) over the hidden windows, before and after. */
  readonly baseline: number;
  readonly candidate: number;
  readonly tokens: number;
  /** Wall time of the candidate's evaluation (the baseline is cached per head state). */
  readonly ms: number;
}

/**
 * Held-out loss on the HIDDEN split, which only the relay holds: a fixed, evenly spread subset of
 * contextLength windows of the split's token stream (tokenized with the meta block's tokenizer),
 * run through the ONNX forward graph. The baseline of each head state is computed once.
 */
export class HiddenEvaluator {
  private readonly contexts = new Map<Hash, Promise<EvalContext>>();
  private baseline: { key: string; params: ParamMap; ce: Promise<number> } | undefined;

  constructor(
    private readonly index: IndexStore,
    private readonly objects: ObjectStore,
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
    const stream = evalStream(Tokenizer.fromJSON(payload.tokenizer), docs.map((d) => d.text));
    const { length, windows } = spreadWindows(stream.length, cfg.contextLength, this.opts.windows);
    const batches = [];
    for (let i = 0; i < windows.length; i += this.opts.perBatch) batches.push(windowBatch(stream, windows.slice(i, i + this.opts.perBatch), length));
    const plan = new Map(slotPlan(cfg).map((s) => [s.name, s]));
    return { meta, payload, plan, batches, tokens: windows.length * length, model: OnnxModel.create(cfg, { intraOpThreads: this.opts.threads }) };
  }

  /** Mean per-token cross-entropy of `params` over the context's hidden windows. */
  async crossEntropy(ctx: EvalContext, params: ParamMap): Promise<number> {
    let nats = 0;
    for (const b of ctx.batches) {
      const { ce } = await ctx.model.forward(params, { tokens: b.inputs, targets: b.targets, B: b.B, T: b.T });
      nats += ce * b.B * b.T;
    }
    return nats / ctx.tokens;
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

  /** Baseline (the current heads) against the same model with `slot` replaced by `payload`. */
  async judge(ctx: EvalContext, heads: Readonly<Record<string, Hash>>, slot: string, payload: Uint8Array): Promise<Judgement> {
    const key = `${ctx.meta}:${JSON.stringify(heads)}`;
    if (this.baseline?.key !== key) {
      const params = await this.assemble(ctx, heads);
      const ce = this.crossEntropy(ctx, params);
      ce.catch(() => (this.baseline = undefined));
      this.baseline = { key, params, ce };
    }
    const { params, ce } = this.baseline;
    const baseline = await ce;
    const start = performance.now();
    const candidate = await this.crossEntropy(ctx, { ...params, ...slotParams(ctx.plan.get(slot)!, payload) });
    return { baseline, candidate, tokens: ctx.tokens, ms: performance.now() - start };
  }

  async dispose(): Promise<void> {
    const contexts = [...this.contexts.values()];
    this.contexts.clear();
    for (const c of contexts) await (await c.catch(() => undefined))?.model.dispose();
  }
}

import { type Address, type Block, type Hash, type Signer, blockHash, buildBlock } from '@blyan/block';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { type BudgetModes, type ExpertEncoding, type GrowthRecord, META_FORMAT, type MetaPayload, type SplitHashes, archOf, encodeMetaPayload } from './meta-payload.ts';
import { encodeSlotPayload } from './slot-payload.ts';
import { type SlotPlan, slotDecls, slotPlan } from './slots.ts';

/** A trained model as the genesis command takes it (train/checkpoint.ts ModelCheckpoint fits). */
export interface GenesisModel {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly params: Readonly<ParamMap>;
  readonly splits: SplitHashes;
}

export interface GenesisOptions {
  /** How expert blocks store weights (default int8 with per-output-row scales). */
  readonly experts?: ExpertEncoding;
  /** Experts per layer static routing keeps by default (default 4: half the experts of the genesis model). */
  readonly staticExpertsPerLayer?: number;
  /** A model with sequence budgets: its budget modes (default 40 % and 20 % of the experts, at least topK). */
  readonly budgets?: BudgetModes;
  /** Timestamp of every block (default now). */
  readonly createdAt?: number;
  /** Who the meta block trusts (default: the signer as the one authority, no evaluators). */
  readonly trust?: { readonly authorities: readonly Address[]; readonly evaluators: readonly Address[] };
  /** A grown model's growth records (meta payload `growth`). */
  readonly growth?: readonly GrowthRecord[];
  /**
   * The meta block this one follows on chain A (default: none, the chain's first block), and other
   * blocks it depends on (a growth's dataset blocks). The slot blocks always start fresh (index 0).
   */
  readonly parent?: { readonly hash: Hash; readonly index: number };
  readonly dependsOn?: readonly Hash[];
}

export const META_SLOT_NAME = 'model';

/** Budgets of 40 % and 20 % of a layer's experts (the byte goals of issue 12), at least topK. */
export function defaultBudgets(cfg: ModelConfig): BudgetModes {
  const share = (fraction: number): number => Math.max(cfg.topK, Math.floor(fraction * cfg.nExperts));
  return { default: share(0.4), lowBandwidth: share(0.2) };
}

/**
 * The payloads of a model's genesis blocks: the meta payload, then one per slot of slotPlan, in
 * order. A slot with `prev` is the next block of that slot's history (versionBlocks).
 */
export interface GenesisPayloads {
  readonly meta: Uint8Array;
  readonly slots: readonly { readonly slot: SlotPlan; readonly payload: Uint8Array; readonly prev?: { readonly hash: Hash; readonly index: number } }[];
}

/**
 * What the genesis blocks of `model` carry, independent of who signs them and when: so a relay can
 * rebuild the payloads of a published genesis from its checkpoint and check them against the
 * signed headers without any private key.
 */
export function genesisPayloads(model: GenesisModel, opts: Pick<GenesisOptions, 'experts' | 'staticExpertsPerLayer' | 'budgets' | 'growth'> = {}): GenesisPayloads {
  const { config } = model;
  const experts = opts.experts ?? 'int8';
  const budgets = config.sequenceBudgets && (opts.budgets ?? defaultBudgets(config));
  const routing = budgets
    ? { modes: ['dynamic', 'static'] as const, topK: config.topK, staticExpertsPerLayer: budgets.default, budgets }
    : { modes: ['dynamic', 'static'] as const, topK: config.topK, staticExpertsPerLayer: Math.min(config.nExperts, Math.max(config.topK, opts.staticExpertsPerLayer ?? 4)) };
  const payload: MetaPayload = {
    format: META_FORMAT,
    config,
    tokenizer: model.tokenizer.toJSON(),
    routing,
    quantization: { experts, dense: 'f32' },
    splits: model.splits,
    ...(opts.growth ? { growth: opts.growth } : {}),
  };
  return {
    meta: encodeMetaPayload(payload),
    slots: slotPlan(config).map((slot) => ({ slot, payload: encodeSlotPayload(slot, model.params, experts) })),
  };
}

/**
 * Cuts a model into its genesis blocks, all signed by `signer`: the meta block first (payload:
 * MetaPayload; header meta: arch, every slot, and whom it trusts), then one block per slot of
 * slotPlan, in that order, each depending on the meta block. With `opts.parent` the meta block
 * follows that one on chain A instead (e.g. a grown model: grow/version.ts).
 */
export async function genesisBlocks(model: GenesisModel, signer: Signer, opts: GenesisOptions = {}): Promise<Block[]> {
  return versionBlocks(model.config, genesisPayloads(model, opts), signer, opts);
}

/**
 * Signs payloads as blocks: the meta block, then one block per given slot depending on it, as
 * genesisBlocks describes; a slot with `prev` follows that block of its history (a grown model's
 * routers), the others start their slot.
 */
export async function versionBlocks(config: ModelConfig, payloads: GenesisPayloads, signer: Signer, opts: Omit<GenesisOptions, 'experts' | 'staticExpertsPerLayer' | 'budgets' | 'growth'> = {}): Promise<Block[]> {
  const created_at = opts.createdAt ?? Date.now();
  const lower = (a: readonly Address[]) => a.map((x) => x.toLowerCase() as Address);
  const authorities = lower(opts.trust?.authorities ?? [signer.address]);
  const evaluators = lower(opts.trust?.evaluators ?? []);
  const meta = await buildBlock(
    {
      type: 'meta',
      index: opts.parent ? opts.parent.index + 1 : 0,
      name: META_SLOT_NAME,
      depends_on: [...(opts.parent ? [opts.parent.hash] : []), ...(opts.dependsOn ?? [])],
      prev: opts.parent?.hash ?? null,
      payload: payloads.meta,
      meta: { arch: archOf(config), slots: slotDecls(config), authorities, evaluators },
      created_at,
    },
    signer,
  );
  const metaHash = blockHash(meta.header);
  const blocks: Block[] = [meta];
  for (const { slot, payload, prev } of payloads.slots) {
    const lineage = prev ? { index: prev.index + 1, depends_on: [metaHash, prev.hash], prev: prev.hash } : { index: 0, depends_on: [metaHash], prev: null };
    const draft = { type: slot.type, name: slot.name, ...lineage, created_at, meta: { encoding: 'tensors-v1' as const } };
    blocks.push(await buildBlock({ ...draft, payload }, signer));
  }
  return blocks;
}

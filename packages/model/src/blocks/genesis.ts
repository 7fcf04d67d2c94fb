import { type Block, type Signer, blockHash, buildBlock } from '@blyan/block';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { type BudgetModes, type ExpertEncoding, META_FORMAT, type MetaPayload, type SplitHashes, archOf, encodeMetaPayload } from './meta-payload.ts';
import { encodeSlotPayload } from './slot-payload.ts';
import { slotDecls, slotPlan } from './slots.ts';

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
}

export const META_SLOT_NAME = 'model';

/** Budgets of 40 % and 20 % of a layer's experts (the byte goals of issue 12), at least topK. */
export function defaultBudgets(cfg: ModelConfig): BudgetModes {
  const share = (fraction: number): number => Math.max(cfg.topK, Math.floor(fraction * cfg.nExperts));
  return { default: share(0.4), lowBandwidth: share(0.2) };
}

/**
 * Cuts a model into its genesis blocks, all signed by `signer`: the meta block first (payload:
 * MetaPayload; header meta: arch and every slot), then one block per slot of slotPlan, in that
 * order, each depending on the meta block.
 */
export async function genesisBlocks(model: GenesisModel, signer: Signer, opts: GenesisOptions = {}): Promise<Block[]> {
  const { config } = model;
  const experts = opts.experts ?? 'int8';
  const created_at = opts.createdAt ?? Date.now();
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
  };
  const meta = await buildBlock(
    {
      type: 'meta',
      index: 0,
      name: META_SLOT_NAME,
      depends_on: [],
      prev: null,
      payload: encodeMetaPayload(payload),
      meta: { arch: archOf(config), slots: slotDecls(config) },
      created_at,
    },
    signer,
  );
  const metaHash = blockHash(meta.header);
  const blocks: Block[] = [meta];
  for (const slot of slotPlan(config)) {
    const draft = { type: slot.type, index: 0, name: slot.name, depends_on: [metaHash], prev: null, created_at, meta: { encoding: 'tensors-v1' as const } };
    blocks.push(await buildBlock({ ...draft, payload: encodeSlotPayload(slot, model.params, experts) }, signer));
  }
  return blocks;
}

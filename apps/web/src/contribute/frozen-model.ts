import type { BlockHeader, Hash } from '@blyan/block';
import { type DelegationLookup, type RelayClient, loadVerifiedBlock, relayDelegations } from '@blyan/client';
import { type ModelConfig, Tokenizer } from '@blyan/model';
import { type MetaPayload, type SlotPlan, parseMetaPayload, slotPlan } from '@blyan/model/blocks';

export interface LoadedBlock {
  header: BlockHeader;
  payload: Uint8Array<ArrayBuffer>;
}

/**
 * The model a contribution trains against, as the relay's chain has it: the meta block's config,
 * tokenizer and expert encoding, the current slot heads, and blocks fetched on demand, each
 * verified like any block (signature or proven delegation, every tile against the Merkle root)
 * and kept by hash for later rounds.
 */
export class FrozenModel {
  private readonly blocks = new Map<Hash, Promise<LoadedBlock>>();
  private readonly delegated: DelegationLookup;
  readonly slots: Map<string, SlotPlan>;
  readonly tokenizer: Tokenizer;
  heads: Record<string, Hash> = {};

  private constructor(
    private readonly client: RelayClient,
    readonly meta: Hash,
    readonly payload: MetaPayload,
  ) {
    this.delegated = relayDelegations(client);
    this.slots = new Map(slotPlan(payload.config).map((s) => [s.name, s]));
    this.tokenizer = Tokenizer.fromJSON(payload.tokenizer);
  }

  static async open(client: RelayClient, meta: Hash): Promise<FrozenModel> {
    const block = await loadVerifiedBlock(client, meta);
    if (block.info.header.type !== 'meta') throw new Error(`block ${meta} is a ${block.info.header.type} block, not the meta block`);
    const model = new FrozenModel(client, meta, parseMetaPayload(block.payload));
    await model.refresh();
    return model;
  }

  get config(): ModelConfig {
    return this.payload.config;
  }

  /** Re-reads the slot heads of this model version from the relay. */
  async refresh(): Promise<void> {
    const params = await this.client.params(this.meta);
    this.heads = params.slots;
  }

  plan(slot: string): SlotPlan {
    const plan = this.slots.get(slot);
    if (!plan) throw new Error(`the model has no slot ${slot}`);
    return plan;
  }

  /** Block `hash`, verified, checked to be a version of `slot`. */
  block(hash: Hash, slot: string): Promise<LoadedBlock> {
    let loading = this.blocks.get(hash);
    if (!loading) {
      loading = loadVerifiedBlock(this.client, hash, { delegated: this.delegated }).then(({ info, payload }) => {
        if (info.slot !== slot) throw new Error(`block ${hash} is a version of ${info.slot}, not of ${slot}`);
        return { header: info.header, payload };
      });
      loading.catch(() => this.blocks.delete(hash));
      this.blocks.set(hash, loading);
    }
    return loading;
  }

  /** The current head of `slot`. */
  head(slot: string): Promise<LoadedBlock> {
    const hash = this.heads[slot];
    if (!hash) throw new Error(`the relay lists no head for ${slot}`);
    return this.block(hash, slot);
  }
}

import type { BlockHeader, Hash } from '@blyan/block';
import { type AttestedSource, type DelegationLookup, Lineage, type RelayClient, loadVerifiedBlock, relayDelegations } from '@blyan/client';
import { type ModelConfig, Tokenizer } from '@blyan/model';
import { type MetaPayload, type SlotPlan, parseMetaPayload, slotPlan } from '@blyan/model/blocks';

export interface LoadedBlock {
  header: BlockHeader;
  payload: Uint8Array<ArrayBuffer>;
}

/**
 * The model a contribution trains against, as the relay's chain has it, trusted only as far as it
 * descends from the pinned genesis (Lineage, as the model worker checks it): the meta block (its
 * config, tokenizer and expert encoding) once its chain is proven back to the pin, the slot heads
 * once each is proven back to its slot's genesis, and blocks fetched on demand (a base, a head to
 * rebase onto) once proven the same way, each then verified like any block (signature or proven
 * delegation, every tile against the Merkle root) and kept by hash for later rounds. A relay that
 * serves another genesis, an unattested block or a forged index entry gets TrustError and nothing
 * of it is trained on.
 */
export class FrozenModel {
  private readonly blocks = new Map<Hash, Promise<LoadedBlock>>();
  private readonly delegated: DelegationLookup;
  private readonly source: AttestedSource;
  readonly slots: Map<string, SlotPlan>;
  readonly tokenizer: Tokenizer;
  heads: Record<string, Hash> = {};

  private constructor(
    private readonly client: RelayClient,
    private readonly lineage: Lineage,
    readonly meta: Hash,
    readonly payload: MetaPayload,
  ) {
    this.delegated = relayDelegations(client);
    this.source = (hash) => client.block(hash);
    this.slots = new Map(slotPlan(payload.config).map((s) => [s.name, s]));
    this.tokenizer = Tokenizer.fromJSON(payload.tokenizer);
  }

  /** The model of meta block `meta`, which must descend from genesis `pin` (this build's; `genesisHeaders`: its shipped genesis, see Lineage). */
  static async open(client: RelayClient, meta: Hash, pin: Hash, genesisHeaders?: readonly unknown[]): Promise<FrozenModel> {
    const lineage = new Lineage(pin, relayDelegations(client), genesisHeaders);
    await lineage.verifyMeta(meta, (hash) => client.block(hash));
    const block = await loadVerifiedBlock(client, meta);
    if (block.info.header.type !== 'meta') throw new Error(`block ${meta} is a ${block.info.header.type} block, not the meta block`);
    const model = new FrozenModel(client, lineage, meta, parseMetaPayload(block.payload));
    await model.refresh();
    return model;
  }

  get config(): ModelConfig {
    return this.payload.config;
  }

  /** Re-reads the slot heads of this model version from the relay, each proven back to the pinned genesis. */
  async refresh(): Promise<void> {
    const params = await this.client.params(this.meta);
    await this.lineage.verifyIndex({ ...params, meta: this.meta }, this.source);
    this.heads = params.slots;
  }

  plan(slot: string): SlotPlan {
    const plan = this.slots.get(slot);
    if (!plan) throw new Error(`the model has no slot ${slot}`);
    return plan;
  }

  /** Block `hash`, proven to be a version of `slot` back to the pinned genesis, then verified. */
  block(hash: Hash, slot: string): Promise<LoadedBlock> {
    let loading = this.blocks.get(hash);
    if (!loading) {
      loading = this.lineage
        .verifyHead(hash, slot, this.source)
        .then(() => loadVerifiedBlock(this.client, hash, { delegated: this.delegated }))
        .then(({ info, payload }) => {
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

import type { BlockHeader, Hash } from '@blyan/block';
import { type AttestedSource, type BlockInfo, type DelegationLookup, Lineage, type ProvenBlock, type RelayClient, loadProvenBlock, relayDelegations } from '@blyan/client';
import { type ModelConfig, Tokenizer } from '@blyan/model';
import { type MetaPayload, type SlotPlan, parseMetaPayload, slotPlan } from '@blyan/model/blocks';

export interface LoadedBlock {
  header: BlockHeader;
  payload: Uint8Array<ArrayBuffer>;
}

/**
 * The relay's answer for each block, fetched once: Lineage walks and verifies these headers, and
 * a block it proved is then loaded with the header the walk verified, so no header is fetched or
 * verified twice. A block Lineage knew without asking (the shipped genesis) is fetched and
 * verified on its own when first loaded.
 */
class BlockAnswers {
  private readonly infos = new Map<Hash, Promise<BlockInfo>>();
  readonly source: AttestedSource = (hash) => this.info(hash);

  constructor(
    private readonly client: RelayClient,
    private readonly delegated: DelegationLookup,
  ) {}

  private info(hash: Hash): Promise<BlockInfo> {
    let info = this.infos.get(hash);
    if (info === undefined) {
      info = this.client.block(hash);
      info.catch(() => this.infos.delete(hash));
      this.infos.set(hash, info);
    }
    return info;
  }

  /** Block `hash`, once Lineage proved it: the header its walk verified (else fetched and verified now), and the payload verified against it. */
  async load(hash: Hash): Promise<ProvenBlock> {
    const walked = this.infos.get(hash);
    return loadProvenBlock(this.client, hash, walked && (await walked).header, { delegated: this.delegated });
  }
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
  readonly slots: Map<string, SlotPlan>;
  readonly tokenizer: Tokenizer;
  heads: Record<string, Hash> = {};

  private constructor(
    private readonly client: RelayClient,
    private readonly lineage: Lineage,
    private readonly answers: BlockAnswers,
    readonly meta: Hash,
    readonly payload: MetaPayload,
  ) {
    this.slots = new Map(slotPlan(payload.config).map((s) => [s.name, s]));
    this.tokenizer = Tokenizer.fromJSON(payload.tokenizer);
  }

  /** The model of meta block `meta`, which must descend from genesis `pin` (this build's; `genesisHeaders`: its shipped genesis, see Lineage). */
  static async open(client: RelayClient, meta: Hash, pin: Hash, genesisHeaders?: readonly unknown[]): Promise<FrozenModel> {
    const delegated = relayDelegations(client);
    const lineage = new Lineage(pin, delegated, genesisHeaders);
    const answers = new BlockAnswers(client, delegated);
    await lineage.verifyMeta(meta, answers.source);
    const block = await answers.load(meta);
    if (block.header.type !== 'meta') throw new Error(`block ${meta} is a ${block.header.type} block, not the meta block`);
    const model = new FrozenModel(client, lineage, answers, meta, parseMetaPayload(block.payload));
    await model.refresh();
    return model;
  }

  get config(): ModelConfig {
    return this.payload.config;
  }

  /** Re-reads the slot heads of this model version from the relay, each proven back to the pinned genesis. */
  async refresh(): Promise<void> {
    const params = await this.client.params(this.meta);
    await this.lineage.verifyIndex({ ...params, meta: this.meta }, this.answers.source);
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
        .verifyHead(hash, slot, this.answers.source)
        .then(() => this.answers.load(hash))
        .then((b) => {
          if (b.slot !== slot) throw new Error(`block ${hash} is a version of ${b.slot}, not of ${slot}`);
          return { header: b.header, payload: b.payload };
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

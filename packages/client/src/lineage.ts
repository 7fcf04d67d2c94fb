import { type BlockHeader, type Hash, blockHash, parseHeader } from '@blyan/block';
import { type SignedVerdict, authorizeBlock, parseVerdict } from '@blyan/chain';
import type { DelegationLookup } from './delegations.ts';
import type { ParamIndex } from './types.ts';
import { verifyHeader } from './verify-header.ts';

type MetaHeader = BlockHeader & { type: 'meta' };

/** A block's header as the relay serves it, with the verdict it says accepted the block (if any). */
export interface Attested {
  header: BlockHeader;
  verdict: unknown;
}

/** Where the walk reads blocks from: the relay's answer for `hash` (untrusted: every field is checked). */
export type AttestedSource = (hash: Hash) => Promise<Attested>;

/**
 * Why a relay is refused: its model starts at another genesis, a head on it is not signed by a
 * named authority nor accepted by a named evaluator's verdict, or a head's lineage is broken (it
 * does not hash, sign or link back to the pinned genesis).
 */
export type Distrust = 'foreign_genesis' | 'unattested' | 'broken_lineage';

export class TrustError extends Error {
  override name = 'TrustError';

  constructor(
    readonly reason: Distrust,
    /** The block that failed. */
    readonly hash: Hash,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What the browser checks before the model uses a head: the meta head descends from the pinned
 * genesis meta block, and every slot head walks back (prev links) to its slot's genesis block, each
 * block hash-checked and signature-verified (session keys through `delegated`) and authorized by
 * authorizeBlock under its governing meta block, which must itself be on the pinned meta chain.
 * Blocks verified once are remembered, so a later check walks only what is new.
 *
 * `genesis`, the signed genesis headers the page shipped with (its own genesis.json, as trusted as
 * the pin itself), lets the walks stop at genesis without fetching or verifying it: each header is
 * hashed locally, and the set is accepted only if its meta block hashes to the pin and every other
 * header is a first version (no prev) of one of that meta block's slots, of the type it declares for that slot and one per slot, depending on it alone.
 * Those blocks are proven; any other block, a relay's forged genesis included, is fully verified.
 */
export class Lineage {
  /** Meta blocks proven to descend from the pin (the pin included). */
  private readonly metas = new Map<Hash, MetaHeader>();
  /** Parameter and dataset blocks proven back to their slot's genesis, with the slot and type each belongs to. */
  private readonly slotted = new Map<Hash, { name: string; type: string }>();

  constructor(
    readonly pin: Hash,
    private readonly delegated?: DelegationLookup,
    /** Untrusted until hashed: adopted (or refused with TrustError) by the first check. */
    private genesis?: readonly unknown[],
  ) {}

  /** Proves the shipped genesis blocks once, before the first walk; throws TrustError (every time) if the set is not the pin's. */
  private adoptGenesis(): void {
    if (this.genesis === undefined) return;
    const proven = shippedGenesis(this.pin, this.genesis);
    this.genesis = undefined;
    this.metas.set(this.pin, proven.meta);
    for (const { hash, name, type } of proven.slots) this.slotted.set(hash, { name, type });
  }

  /** Throws TrustError unless `index.meta` and every head `index.slots` lists are proven; returns how many blocks it verified (not proven before). */
  async verifyIndex(index: ParamIndex, source: AttestedSource): Promise<number> {
    const metas = await this.verifyMeta(index.meta, source);
    const slots = await Promise.all(Object.entries(index.slots).map(([slot, hash]) => this.verifyHead(hash, slot, source)));
    return slots.reduce((a, b) => a + b, metas);
  }

  /** Throws TrustError unless meta block `head` descends from the pin through authorized meta blocks; returns how many it verified. */
  async verifyMeta(head: Hash, source: AttestedSource): Promise<number> {
    this.adoptGenesis();
    const walked: { hash: Hash; block: Attested & { header: MetaHeader } }[] = [];
    let hash: Hash | null = head;
    while (hash !== null && !this.metas.has(hash)) {
      const block = await source(hash);
      if (block.header.type !== 'meta') throw new TrustError('broken_lineage', hash, `the relay's meta chain holds block ${hash}, a ${block.header.type} block`);
      walked.push({ hash, block: block as Attested & { header: MetaHeader } });
      hash = hash === this.pin ? null : block.header.prev;
    }
    const root = walked.at(-1)?.hash;
    if (root !== undefined && hash === null && root !== this.pin) {
      throw new TrustError('foreign_genesis', root, `the relay serves a different model: its meta chain starts at genesis ${root}, and this app trusts only genesis ${this.pin}`);
    }
    for (const { hash, block } of walked.reverse()) {
      const prev = hash === this.pin ? null : block.header.prev!;
      await this.authorize(hash, block, prev === null ? null : this.metas.get(prev)!, prev);
      this.metas.set(hash, block.header);
    }
    return walked.length;
  }

  /** Throws TrustError unless `head` is a version of `slot` whose every ancestor is authorized under the pinned meta chain; returns how many it verified. */
  async verifyHead(head: Hash, slot: string, source: AttestedSource): Promise<number> {
    this.adoptGenesis();
    const walked: { hash: Hash; block: Attested }[] = [];
    const broken = (hash: Hash, type: string, name: string) =>
      new TrustError('broken_lineage', hash, `the relay lists ${head} as the head of ${slot}, but its lineage holds block ${hash}, a ${type} block named ${name}`);
    let hash: Hash | null = head;
    while (hash !== null && !this.slotted.has(hash)) {
      const block = await source(hash);
      const child = walked.at(-1)?.block.header;
      const { name, type } = block.header;
      if (name !== slot || type === 'meta' || (child !== undefined && type !== child.type)) throw broken(hash, type, name);
      walked.push({ hash, block });
      hash = block.header.prev;
    }
    // A walk that stops on a proven block is only as good as that block being this slot's, of the walked blocks' type.
    const known = hash === null ? undefined : this.slotted.get(hash);
    if (hash !== null && known !== undefined) {
      const child = walked.at(-1)?.block.header;
      if (known.name !== slot || (child !== undefined && known.type !== child.type)) throw broken(hash, known.type, known.name);
    }
    for (const { hash, block } of walked.reverse()) {
      const governing = this.governingMeta(hash, block.header);
      await this.authorize(hash, block, this.metas.get(governing)!, governing);
      this.slotted.set(hash, { name: block.header.name, type: block.header.type });
    }
    return walked.length;
  }

  /** The one meta dependency of a parameter or dataset block, which must be on the pinned meta chain. */
  private governingMeta(hash: Hash, h: BlockHeader): Hash {
    const metas = h.depends_on.filter((d) => this.metas.has(d));
    if (metas.length !== 1) {
      throw new TrustError('broken_lineage', hash, `block ${h.name} (${hash}) depends on ${metas.length} meta blocks of the pinned chain, not exactly one: it does not descend from genesis ${this.pin}`);
    }
    return metas[0]!;
  }

  /** Checks the header's hash and signature, then that its signer (or its verdict) may have moved the head to it. */
  private async authorize(hash: Hash, block: Attested, governing: MetaHeader | null, governingHash: Hash | null): Promise<void> {
    const h = block.header;
    let signer;
    try {
      signer = await verifyHeader(hash, h, this.delegated);
    } catch (e) {
      throw new TrustError('broken_lineage', hash, (e as Error).message);
    }
    let verdict: SignedVerdict | undefined;
    try {
      verdict = block.verdict === null || block.verdict === undefined ? undefined : parseVerdict(block.verdict);
    } catch (e) {
      throw new TrustError('unattested', hash, `block ${h.name} (${hash}) comes with a malformed verdict: ${(e as Error).message}`);
    }
    const ok = await authorizeBlock(h, hash, { signer, delegated: signer !== h.author }, governing, governingHash, verdict);
    if (!ok.ok) throw new TrustError('unattested', hash, `block ${h.name} (${hash}) is not attested: ${ok.message}`);
  }
}

/** The genesis meta header and slot genesis hashes of `headers` (meta first), or TrustError unless they are exactly the genesis of `pin`. */
function shippedGenesis(pin: Hash, headers: readonly unknown[]): { meta: MetaHeader; slots: { hash: Hash; name: string; type: string }[] } {
  const refuse = (hash: Hash, why: string) => new TrustError('foreign_genesis', hash, `the genesis headers this app shipped with are not those of its pin ${pin}: ${why}`);
  const parsed = headers.map((x, i) => {
    try {
      return parseHeader(x);
    } catch (e) {
      throw refuse(pin, `header ${i} is malformed (${(e as Error).message})`);
    }
  });
  const [meta, ...rest] = parsed;
  if (meta === undefined) throw refuse(pin, 'there are none');
  const metaHash = blockHash(meta);
  if (metaHash !== pin || meta.type !== 'meta' || meta.prev !== null) throw refuse(metaHash, `the first hashes to ${metaHash}`);
  const declared = new Map<string, string>(meta.meta.slots.map((s) => [s.name, s.type]));
  const seen = new Set<string>();
  const slots = rest.map((h) => {
    const hash = blockHash(h);
    if (h.type === 'meta' || h.prev !== null || !declared.has(h.name) || h.depends_on.length !== 1 || h.depends_on[0] !== pin) {
      throw refuse(hash, `block ${h.name} (${hash}) is not a first version of a slot of the pinned meta block`);
    }
    if (h.type !== declared.get(h.name)) throw refuse(hash, `block ${h.name} (${hash}) is a ${h.type} block, but the pinned meta block declares slot ${h.name} of type ${declared.get(h.name)}`);
    if (seen.has(h.name)) throw refuse(hash, `block ${h.name} (${hash}) is a second genesis block of slot ${h.name}`);
    seen.add(h.name);
    return { hash, name: h.name, type: h.type };
  });
  return { meta: meta as MetaHeader, slots };
}

import type { Block, BlockHeader, Hash } from '@blyan/block';
import { type Accepted, type ChainView, type Rejection, type RuleOptions, META_SLOT, validateBlock } from './rules.ts';
import type { SignedVerdict } from './verdict.ts';

export interface SlotVersion {
  hash: Hash;
  /** Global acceptance order across all chains. */
  seq: number;
}

/**
 * The chain state in memory: every block by hash, the meta chain, and the ParamIndex (per model
 * version, slot name → full version history). It is the reference the relay's SQLite index is
 * tested against, and what `blyan verify` replays a store into.
 */
export class MemoryChain implements ChainView {
  private readonly blocks = new Map<Hash, { header: BlockHeader; seq: number; version: Hash }>();
  private readonly slots = new Map<Hash, Map<string, SlotVersion[]>>();
  private readonly metas: SlotVersion[] = [];
  private seq = 0;

  header(hash: Hash): BlockHeader | undefined {
    return this.blocks.get(hash)?.header;
  }

  versionOf(metaHash: Hash): Hash | undefined {
    const b = this.blocks.get(metaHash);
    return b?.header.type === 'meta' ? b.version : undefined;
  }

  metaHead(): Hash | null {
    return this.metas.at(-1)?.hash ?? null;
  }

  slotHead(version: Hash, name: string): Hash | null {
    return this.history(version, name).at(-1)?.hash ?? null;
  }

  get size(): number {
    return this.blocks.size;
  }

  /** Validates, then applies; returns the acceptance or the reason for refusal. */
  async submit(block: Block, opts: RuleOptions, verdict?: SignedVerdict): Promise<(Accepted & { seq: number }) | Rejection> {
    const r = await validateBlock(this, block, opts, verdict);
    return r.ok ? { ...r, seq: this.apply(r) } : r;
  }

  /** Appends an accepted block and moves its slot head; returns its sequence number. */
  apply(a: Accepted): number {
    const seq = this.seq++;
    this.blocks.set(a.hash, { header: a.header, seq, version: a.version });
    if (a.slot === META_SLOT) {
      this.metas.push({ hash: a.hash, seq });
      return seq;
    }
    let bySlot = this.slots.get(a.version);
    if (!bySlot) this.slots.set(a.version, (bySlot = new Map()));
    const history = bySlot.get(a.slot);
    if (history) history.push({ hash: a.hash, seq });
    else bySlot.set(a.slot, [{ hash: a.hash, seq }]);
    return seq;
  }

  /** Every version of a slot, oldest first. */
  history(version: Hash, name: string): readonly SlotVersion[] {
    return this.slots.get(version)?.get(name) ?? [];
  }

  /** Slot name → current head for a model version (the current meta head's by default). */
  paramIndex(version: Hash | undefined = this.currentVersion()): Record<string, Hash> {
    const out: Record<string, Hash> = {};
    for (const [name, h] of this.slots.get(version as Hash) ?? []) out[name] = h.at(-1)!.hash;
    return out;
  }

  currentVersion(): Hash | undefined {
    const head = this.metaHead();
    return head === null ? undefined : this.versionOf(head);
  }

  /**
   * What slot `name` was while meta block `metaHash` was the meta head: its last version accepted
   * before the next meta block (or its current head if `metaHash` is still the head).
   */
  at(metaHash: Hash, name: string): Hash | null {
    const version = this.versionOf(metaHash);
    if (version === undefined) throw new Error(`${metaHash} is not a meta block`);
    const i = this.metas.findIndex((m) => m.hash === metaHash);
    const until = this.metas[i + 1]?.seq ?? Infinity;
    const history = this.history(version, name);
    let lo = 0;
    let hi = history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (history[mid]!.seq < until) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : history[lo - 1]!.hash;
  }
}

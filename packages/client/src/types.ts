import type { Address, BlockHeader, Hash } from '@blyan/block';
import type { SignedVerdict } from '@blyan/chain';

/** GET /v1/heads */
export interface Heads {
  meta_head: Hash | null;
  version: Hash | null;
  chains: {
    A: { count: number; head: Hash | null };
    B: { count: number; heads: Record<string, Hash> };
    D: { count: number; heads: Record<string, Hash> };
  };
}

/** GET /v1/params: slot → head block of one model version. */
export interface ParamIndex {
  meta: Hash;
  version: Hash;
  slots: Record<string, Hash>;
}

/** A block as the relay's index holds and lists it: its header plus where acceptance put it. */
export interface BlockInfo {
  hash: Hash;
  /** Global acceptance order, from 1, across all chains. */
  seq: number;
  /** The model version (hash of the meta block that started it). */
  version: Hash;
  /** `A/meta`, `D/<name>` or the parameter slot name (see `slotOf` in @blyan/chain). */
  slot: string;
  header: BlockHeader;
  /** The evaluator's verdict that let it in; null for a block an authority signed (genesis, upgrades). */
  verdict: SignedVerdict | null;
}

/** One version of a slot, from GET /v1/params/:name/history. */
export interface HistoryEntry {
  hash: Hash;
  seq: number;
  index: number;
  author: Address;
  created_at: number;
  /** As BlockInfo.verdict. */
  verdict: SignedVerdict | null;
}

/** One tile with its RFC 9162 audit path, from GET /v1/blocks/:hash/tiles/:i. */
export interface ProvenTile {
  bytes: Uint8Array;
  proof: Uint8Array[];
}

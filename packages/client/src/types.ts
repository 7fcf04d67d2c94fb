import type { Address, BlockHeader, Hash } from '@blyan/block';

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

/** A block as the relay lists it. */
export interface BlockInfo {
  hash: Hash;
  seq: number;
  version: Hash;
  slot: string;
  header: BlockHeader;
}

export interface HistoryEntry {
  hash: Hash;
  seq: number;
  index: number;
  author: Address;
  created_at: number;
}

/** One tile with its RFC 9162 audit path, from GET /v1/blocks/:hash/tiles/:i. */
export interface ProvenTile {
  bytes: Uint8Array;
  proof: Uint8Array[];
}

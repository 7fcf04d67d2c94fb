import type { BlockHeader, ChainId, Hash } from '@blyan/block';
import type { Accepted, ChainView, SignedVerdict } from '@blyan/chain';
import type { BlockInfo, HistoryEntry } from '@blyan/client';

/** The index stores and lists blocks and slot histories exactly as clients read them (the wire types of @blyan/client). */
export type { BlockInfo, HistoryEntry };

/** Thrown by `append` when a head moved since validation (another submission, perhaps on another replica, won); nothing was written. */
export class StaleHeadError extends Error {
  override name = 'StaleHeadError';
}

export type ChainCounts = Record<ChainId, number>;

/**
 * Headers, heads and the ParamIndex. Every method is async so that a networked database can
 * implement it; `view` bridges to the synchronous `ChainView` that `validateBlock` reads.
 */
export interface IndexStore {
  /**
   * A ChainView that answers every lookup `validateBlock` makes for `header` (its hash, prev and
   * dependencies, their versions, the meta head, the slot heads of those versions), consistent
   * until the next `append`. An embedded store answers live; a remote one prefetches those rows.
   */
  view(header: BlockHeader): Promise<ChainView>;
  /**
   * Records an accepted block, its tile leaf hashes and its verdict, and moves its head, atomically. Throws
   * (changing nothing) if the head is no longer `header.prev`. Returns the block's `seq`.
   */
  append(accepted: Accepted, leaves: Uint8Array): Promise<number>;
  block(hash: Hash): Promise<BlockInfo | undefined>;
  /** The evaluator's verdict that let a block in; undefined for an unknown block or one an authority signed. */
  verdict(hash: Hash): Promise<SignedVerdict | undefined>;
  /** The tile leaf hashes of a block, concatenated (32 bytes each). */
  leaves(hash: Hash): Promise<Uint8Array<ArrayBuffer> | undefined>;
  metaHead(): Promise<Hash | null>;
  versionOf(metaHash: Hash): Promise<Hash | undefined>;
  /** Parameter slot → current head, for one model version. */
  paramIndex(version: Hash): Promise<Record<string, Hash>>;
  /** Dataset name → current head, for one model version. */
  datasetHeads(version: Hash): Promise<Record<string, Hash>>;
  /** Parameter slot → what it was while `metaHash` was the meta head (see `at`). */
  paramIndexAt(metaHash: Hash): Promise<Record<string, Hash>>;
  /** Every version of a slot, oldest first. */
  history(version: Hash, slot: string): Promise<HistoryEntry[]>;
  /**
   * The last block of `slot` accepted before the meta block that followed `metaHash` on chain A
   * (its current head if `metaHash` is the meta head), or null. Throws if `metaHash` is no meta block.
   */
  at(metaHash: Hash, slot: string): Promise<Hash | null>;
  /** Blocks with seq > `after` in acceptance order, optionally of one chain. */
  list(after: number, limit: number, chain?: ChainId): Promise<BlockInfo[]>;
  counts(): Promise<ChainCounts>;
  /** Does any block have this payload hash? */
  hasPayload(payloadHash: Hash): Promise<boolean>;
  close(): Promise<void>;
}

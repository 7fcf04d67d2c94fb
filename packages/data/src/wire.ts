import type { Address, Hash } from '@blyan/block';
import type { DocVerdict, RefusalCode } from './prefilter.ts';
import type { TierCounts } from './tiers.ts';

/** Where an upload stands: L1 scoring, L2 review, appending to chain D, and how it ended. */
export type UploadStatus = 'scoring' | 'review' | 'appending' | 'accepted' | 'refused' | 'failed';

/** One document's L0 verdict as the uploader sees it (the text itself is not repeated). */
export type StoredVerdict =
  | { readonly index: number; readonly ok: true; readonly sha256: Hash; readonly bytes: number; readonly redacted: { readonly emails: number; readonly phones: number } }
  | { readonly index: number; readonly ok: false; readonly code: RefusalCode; readonly message: string; readonly bytes: number };

/** A prefilter verdict as it is stored and shown: the document's text dropped. */
export const storedVerdict = (v: DocVerdict): StoredVerdict =>
  v.ok ? { index: v.index, ok: true, sha256: v.sha256, bytes: v.bytes, redacted: v.redacted } : { index: v.index, ok: false, code: v.code, message: v.message, bytes: v.bytes };

/** GET /v1/uploads/:id (and the answer to an upload). */
export interface UploadView {
  readonly id: number;
  readonly name: string;
  readonly uploader: Address;
  readonly source: string;
  readonly licence: string;
  readonly status: UploadStatus;
  readonly detail: string | null;
  readonly raw_bytes: number;
  readonly verdicts: readonly StoredVerdict[];
  /** Documents L0 kept, public and held out. */
  readonly documents: number;
  readonly hidden: number;
  readonly text_bytes: number;
  readonly tiers: TierCounts;
  readonly mean_bpb: number | null;
  readonly sample: { readonly size: number; readonly keep: number; readonly drop: number; readonly votes: number };
  readonly blocks: readonly { readonly hash: Hash; readonly payload_bytes: number }[];
  readonly created_at: number;
  readonly decided_at: number | null;
}

/** An entry of GET /v1/datasets. */
export interface DatasetSummary {
  readonly name: string;
  /** The dataset's block at the head of its slot on chain D, or null before its first accepted upload. */
  readonly head: Hash | null;
  readonly versions: number;
  readonly blocks: number;
  readonly documents: number;
  readonly text_bytes: number;
  readonly payload_bytes: number;
  readonly tiers: TierCounts;
  readonly uploaders: readonly Address[];
  readonly pending: number;
  readonly votes: number;
}

/** GET /v1/datasets/:name */
export type DatasetDetail = DatasetSummary & { readonly uploads: readonly UploadView[] };

/** GET /v1/review: a sampled document waiting for the caller's vote. */
export interface ReviewItem {
  readonly upload: number;
  readonly name: string;
  readonly doc: Hash;
  readonly text: string;
}

import type { Address, Hash, Json, PayloadMeta } from '@blyan/block';
import { DATASET_ENCODING, type DatasetDoc } from './payload.ts';
import { type TierCounts, countTiers } from './tiers.ts';

/** What a dataset block's header says about its upload: who, where from, under which licence, and what it holds. */
export interface DatasetMeta extends PayloadMeta {
  encoding: typeof DATASET_ENCODING;
  /** The uploader's account (the block's author is the relay that filtered it). */
  uploader: Address;
  source: string;
  licence: string;
  /** The relay's upload id, and this block's place among the upload's blocks. */
  upload: number;
  part: number;
  parts: number;
  documents: number;
  /** UTF-8 bytes of the public documents' text. */
  text_bytes: number;
  tiers: TierCounts & { [k: string]: Json };
  /** Documents of this part kept out of the payload as the held-out part, and SHA-256 over their sorted addresses. */
  hidden: number;
  hidden_commitment: Hash;
  [k: string]: Json;
}

/** The most UTF-8 text one dataset block carries (before compression). */
export const MAX_BLOCK_TEXT = 1 << 20;

/** Cuts documents, in order, into parts of at most `maxText` bytes of text each (a larger document gets a part of its own). */
export function packParts<T extends { readonly bytes: number }>(docs: readonly T[], maxText = MAX_BLOCK_TEXT): T[][] {
  const parts: T[][] = [];
  let size = 0;
  for (const d of docs) {
    const last = parts.at(-1);
    if (last === undefined || (size + d.bytes > maxText && last.length > 0)) {
      parts.push([d]);
      size = d.bytes;
    } else {
      last.push(d);
      size += d.bytes;
    }
  }
  return parts;
}

export function datasetMeta(
  upload: { readonly id: number; readonly uploader: Address; readonly source: string; readonly licence: string },
  part: number,
  parts: number,
  docs: readonly (DatasetDoc & { readonly bytes: number })[],
  hidden: { readonly count: number; readonly commitment: Hash },
): DatasetMeta {
  return {
    encoding: DATASET_ENCODING,
    uploader: upload.uploader,
    source: upload.source,
    licence: upload.licence,
    upload: upload.id,
    part,
    parts,
    documents: docs.length,
    text_bytes: docs.reduce((n, d) => n + d.bytes, 0),
    tiers: countTiers(docs.map((d) => d.tier)),
    hidden: hidden.count,
    hidden_commitment: hidden.commitment,
  };
}

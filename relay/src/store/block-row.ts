import type { BlockHeader, Hash } from '@blyan/block';
import type { SignedVerdict } from '@blyan/chain';
import type { BlockInfo } from './index-store.ts';

/** A block as both SQL index stores select it: the header and verdict as JSON text. */
export interface BlockRow {
  seq: number;
  hash: Hash;
  version: Hash;
  slot: string;
  header: string;
  verdict: string | null;
}

export const verdictOf = (text: string | null): SignedVerdict | null => (text === null ? null : (JSON.parse(text) as SignedVerdict));

export function toStored(row: BlockRow): BlockInfo {
  return { hash: row.hash, seq: row.seq, version: row.version, slot: row.slot, header: JSON.parse(row.header) as BlockHeader, verdict: verdictOf(row.verdict) };
}

import { sha256 } from '#sha256';
import { type Address, type BlockHeader, type MetaBlockMeta, type ParamType, type PayloadMeta, type UnsignedHeader, HEADER_VERSION } from './header.ts';
import { type Hash, toHash } from './hex.ts';
import { merkleRoot, merkleRootOfLeaves, tileLeaves } from './merkle.ts';
import { type Signer, signHeader } from './signature.ts';

export interface Block {
  header: BlockHeader;
  payload: Uint8Array;
}

/**
 * 64 KiB tiles: an expert block of a few hundred KB is a handful of tiles, so a bad tile costs a
 * small re-fetch; a proof is at most a few hundred bytes; hashing 64 KiB at a time amortizes the
 * per-call cost (measured in docs/BENCHMARKS.md); and it is the common HTTP/2 stream window.
 */
export const DEFAULT_TILE_SIZE = 64 * 1024;

type Draft =
  | { type: 'meta'; meta: MetaBlockMeta }
  | { type: ParamType; meta: PayloadMeta }
  | { type: 'dataset'; meta: PayloadMeta };

export type BlockDraft = Draft & {
  index: number;
  name: string;
  depends_on: Hash[];
  prev: Hash | null;
  payload: Uint8Array;
  tile_size?: number;
  created_at?: number;
};

export function payloadHash(payload: Uint8Array): Hash {
  return toHash(sha256(payload));
}

/** Fills in the payload commitments and the author, then signs. */
export async function buildBlock(d: BlockDraft, signer: Signer, author: Address = signer.address): Promise<Block> {
  const tile_size = d.tile_size ?? DEFAULT_TILE_SIZE;
  const common = {
    v: HEADER_VERSION as typeof HEADER_VERSION,
    index: d.index,
    name: d.name,
    depends_on: d.depends_on,
    prev: d.prev,
    payload_hash: payloadHash(d.payload),
    payload_size: d.payload.length,
    merkle_root: merkleRoot(d.payload, tile_size),
    tile_size,
    author: author.toLowerCase() as Address,
    created_at: d.created_at ?? Date.now(),
  };
  const unsigned: UnsignedHeader =
    d.type === 'meta'
      ? { ...common, chain: 'A', type: 'meta', meta: d.meta }
      : d.type === 'dataset'
        ? { ...common, chain: 'D', type: 'dataset', meta: d.meta }
        : { ...common, chain: 'B', type: d.type, meta: d.meta };
  return { header: await signHeader(unsigned, signer), payload: d.payload };
}

export type PayloadVerdict =
  | { ok: true }
  | { ok: false; code: 'payload_size_mismatch' | 'payload_hash_mismatch' | 'merkle_mismatch'; message: string };

/**
 * verifyPayload's checks, keeping the tile leaf hashes it computed for the Merkle root, so a
 * store that serves them need not hash the payload a second time.
 */
export function payloadLeaves(h: BlockHeader, payload: Uint8Array): { ok: true; leaves: Uint8Array[] } | Exclude<PayloadVerdict, { ok: true }> {
  if (payload.length !== h.payload_size) {
    return { ok: false, code: 'payload_size_mismatch', message: `payload is ${payload.length} bytes, header says ${h.payload_size}` };
  }
  if (payloadHash(payload) !== h.payload_hash) {
    return { ok: false, code: 'payload_hash_mismatch', message: 'payload SHA-256 differs from payload_hash' };
  }
  const leaves = tileLeaves(payload, h.tile_size);
  if (merkleRootOfLeaves(leaves) !== h.merkle_root) {
    return { ok: false, code: 'merkle_mismatch', message: 'tile Merkle root differs from merkle_root' };
  }
  return { ok: true, leaves };
}

/** Checks the payload against the header's size, SHA-256 and tile Merkle root. */
export function verifyPayload(h: BlockHeader, payload: Uint8Array): PayloadVerdict {
  const v = payloadLeaves(h, payload);
  return v.ok ? { ok: true } : v;
}

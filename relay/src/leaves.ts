import { tileLeaves } from '@blyan/block';

/** The tile leaf hashes of a payload, concatenated: what GET /v1/blocks/:hash/leaves serves. */
export function leafBytes(payload: Uint8Array, tileSize: number): Uint8Array {
  const leaves = tileLeaves(payload, tileSize);
  const out = new Uint8Array(leaves.length * 32);
  leaves.forEach((l, i) => out.set(l, i * 32));
  return out;
}

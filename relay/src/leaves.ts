/** Tile leaf hashes, concatenated: what GET /v1/blocks/:hash/leaves serves. */
export function joinLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(leaves.length * 32);
  leaves.forEach((l, i) => out.set(l, i * 32));
  return out;
}

import { leafHash } from '@blyan/block';

/**
 * The RFC 9162 leaf hash of a tile, SHA-256(0x00 ‖ tile), with the platform's WebCrypto when there
 * is one (native code, several times faster than hashing in JavaScript), else @blyan/block's.
 */
export async function leafHashAsync(tile: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return leafHash(tile);
  const prefixed = new Uint8Array(tile.length + 1);
  prefixed.set(tile, 1);
  return new Uint8Array(await subtle.digest('SHA-256', prefixed));
}

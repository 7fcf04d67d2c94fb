import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** A 32-byte SHA-256 digest as 64 lowercase hex characters, no 0x prefix. */
export type Hash = string & { readonly __brand: 'Hash' };

const HASH_RE = /^[0-9a-f]{64}$/;

export function isHash(x: unknown): x is Hash {
  return typeof x === 'string' && HASH_RE.test(x);
}

export function toHash(digest: Uint8Array): Hash {
  if (digest.length !== 32) throw new Error(`a hash is 32 bytes, got ${digest.length}`);
  return bytesToHex(digest) as Hash;
}

export function hashBytes(h: Hash): Uint8Array {
  return hexToBytes(h);
}

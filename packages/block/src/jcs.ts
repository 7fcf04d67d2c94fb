import canonicalize from 'canonicalize';
import { sha256 } from '#sha256';
import { type Hash, toHash } from './hex.ts';

/** The UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of `value`. */
export function canonicalBytes(value: unknown): Uint8Array {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized as JSON');
  return new TextEncoder().encode(text);
}

/** SHA-256 of `canonicalBytes(value)`: a hash independent of key order, engine and platform. */
export function canonicalHash(value: unknown): Hash {
  return toHash(sha256(canonicalBytes(value)));
}

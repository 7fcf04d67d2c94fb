import { type Hash, payloadHash } from '@blyan/block';

const encoder = new TextEncoder();

/** A document's address: SHA-256 of its UTF-8 bytes (the same function that addresses payloads). */
export function docHash(text: string): Hash {
  return payloadHash(encoder.encode(text));
}

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

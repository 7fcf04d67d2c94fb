import { sha256 as noble } from '@noble/hashes/sha2.js';

/** SHA-256 for browsers: synchronous, audited, no native code. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = noble.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

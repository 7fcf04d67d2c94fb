import { createHmac } from 'node:crypto';
import { type Hash, payloadHash } from '@blyan/block';

/** Share of each dataset's documents held out for evaluation. */
export const HIDDEN_FRACTION = 0.05;

/**
 * Is this document in the held-out part? HMAC-SHA256(secret, "blyan-data-hidden:" ‖ address), its
 * first 4 bytes read as a fraction of 2³², below `fraction`. The secret is the store's evaluation
 * secret (eval.secret), so nobody without it can tell which documents are held out, and a document
 * is held out (or not) the same way in whichever upload it arrives.
 */
export function isHidden(secret: Uint8Array, sha256: Hash, fraction = HIDDEN_FRACTION): boolean {
  return createHmac('sha256', secret).update(`blyan-data-hidden:${sha256}`, 'utf8').digest().readUInt32BE(0) < fraction * 2 ** 32;
}

/** The commitment a block header carries to its held-out documents: SHA-256 over their sorted addresses, newline-joined. */
export function hiddenCommitment(hashes: readonly Hash[]): Hash {
  return payloadHash(new TextEncoder().encode([...hashes].sort().join('\n')));
}

import type { Hash } from '@blyan/block';

/** The relay answered with an error status; `code` is its machine-readable error code. */
export class RelayError extends Error {
  override name = 'RelayError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A block failed verification: its header does not hash to its address, its signature does not
 * recover its author, or its payload does not match the Merkle root even after re-fetching the
 * bad tile. Its bytes must never be used or cached.
 */
export class BlockVerificationError extends Error {
  override name = 'BlockVerificationError';

  constructor(
    readonly hash: Hash,
    /** The block's slot name, e.g. `layer1.expert3`. */
    readonly block: string,
    readonly reason: string,
  ) {
    super(`block ${block} (${hash}) failed verification: ${reason}`);
  }
}

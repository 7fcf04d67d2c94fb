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

/** The RelayError for a non-2xx answer to `request` (e.g. `GET url`), with the relay's code and message when it sent them. */
export async function relayError(res: Response, request: string): Promise<RelayError> {
  let code = 'http_error';
  let message = `${request} answered ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = `${message}: ${body.error?.message ?? ''}`;
  } catch {
    // not a JSON error body: keep the status line
  }
  return new RelayError(res.status, code, message);
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

import type { Address, Hash } from '@blyan/block';
import type { DelegationLookup } from './delegations.ts';
import type { RelayClient } from './relay-client.ts';
import type { BlockInfo } from './types.ts';
import { type PayloadOptions, fetchVerifiedPayload } from './verified-payload.ts';
import { verifyHeader } from './verify-header.ts';

export interface VerifiedBlock {
  info: BlockInfo;
  signer: Address;
  payload: Uint8Array<ArrayBuffer>;
}

/** Fetches a block's header, checks its signature (or its signer's delegation), then streams and verifies its payload. */
export async function loadVerifiedBlock(client: RelayClient, hash: Hash, options: PayloadOptions & { delegated?: DelegationLookup } = {}): Promise<VerifiedBlock> {
  const info = await client.block(hash);
  const signer = await verifyHeader(hash, info.header, options.delegated);
  const payload = await fetchVerifiedPayload(client, hash, info.header, options);
  return { info, signer, payload };
}

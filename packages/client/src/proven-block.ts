import { type BlockHeader, type Hash, blockHash } from '@blyan/block';
import { slotOf } from '@blyan/chain';
import type { DelegationLookup } from './delegations.ts';
import { loadVerifiedBlock } from './load-block.ts';
import type { RelayClient } from './relay-client.ts';
import { type PayloadOptions, fetchVerifiedPayload } from './verified-payload.ts';

/** A block's header and its payload, verified against that header. */
export interface ProvenBlock {
  header: BlockHeader;
  slot: string;
  payload: Uint8Array<ArrayBuffer>;
}

/**
 * Loads block `hash`, reusing a header a lineage check already proved (hash, signature or
 * delegation, authority): with `proven`, only the payload is fetched, verified against that
 * header's Merkle root (no header round trip, no second signature check); without, the header is
 * fetched and its signature (or its signer's delegation, `delegated`) checked first. A proven
 * header that is not block `hash`'s is refused before anything is fetched.
 */
export async function loadProvenBlock(client: RelayClient, hash: Hash, proven: BlockHeader | undefined, options: PayloadOptions & { delegated?: DelegationLookup } = {}): Promise<ProvenBlock> {
  if (proven === undefined) {
    const { info, payload } = await loadVerifiedBlock(client, hash, options);
    return { header: info.header, slot: slotOf(info.header), payload };
  }
  if (blockHash(proven) !== hash) throw new Error(`the header given for block ${hash} is block ${blockHash(proven)}'s`);
  return { header: proven, slot: slotOf(proven), payload: await fetchVerifiedPayload(client, hash, proven, options) };
}

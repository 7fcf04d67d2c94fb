import { type Address, type BlockHeader, type Hash, blockHash, verifySignature } from '@blyan/block';
import type { DelegationLookup } from './delegations.ts';
import { BlockVerificationError } from './errors.ts';

/**
 * Checks that `header` is the block `hash` and that its signature recovers its author, or a
 * session key that `delegated` proves the author delegated at the block's `created_at` (see
 * relayDelegations); returns the signer.
 */
export async function verifyHeader(hash: Hash, header: BlockHeader, delegated?: DelegationLookup): Promise<Address> {
  const actual = blockHash(header);
  if (actual !== hash) throw new BlockVerificationError(hash, header.name, `its header hashes to ${actual}`);
  const verdict = await verifySignature(header);
  if (verdict.ok) return verdict.signer;
  if (verdict.code === 'wrong_author' && delegated) {
    const { signer } = verdict;
    if (await delegated(header.author, signer, header.created_at)) return signer;
    throw new BlockVerificationError(hash, header.name, `signed by ${signer}, which no proven delegation of ${header.author} covers at ${new Date(header.created_at).toISOString()}`);
  }
  throw new BlockVerificationError(hash, header.name, verdict.message);
}

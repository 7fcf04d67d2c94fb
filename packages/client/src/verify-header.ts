import { type Address, type BlockHeader, type DelegationCheck, type Hash, blockHash, verifySignature } from '@blyan/block';
import { BlockVerificationError } from './errors.ts';

/**
 * Checks that `header` is the block `hash` and that its signature recovers its author (or a key the
 * author delegated, when `isDelegate` says so); returns the signer.
 */
export async function verifyHeader(hash: Hash, header: BlockHeader, isDelegate?: DelegationCheck): Promise<Address> {
  const actual = blockHash(header);
  if (actual !== hash) throw new BlockVerificationError(hash, header.name, `its header hashes to ${actual}`);
  const verdict = await verifySignature(header, isDelegate);
  if (!verdict.ok) throw new BlockVerificationError(hash, header.name, verdict.message);
  return verdict.signer;
}

import { type LocalAccount, recoverMessageAddress } from 'viem';
import { type Address, type BlockHeader, type UnsignedHeader, blockHash } from './header.ts';
import { type Hash, hashBytes } from './hex.ts';

/**
 * A block is signed with EIP-191 `personal_sign` over the raw 32 bytes of its hash. The signer is
 * the author's own key or a session key the author delegated with a Sign-In with Ethereum login.
 */
export type Signer = Pick<LocalAccount, 'address' | 'signMessage'>;

/** Says whether `signer` may sign for `author` now (a live SIWE session-key delegation); a networked store answers asynchronously. */
export type DelegationCheck = (author: Address, signer: Address) => boolean | Promise<boolean>;

/** EIP-191 `personal_sign` over the raw 32 bytes of `digest`, as lowercase hex. */
export async function signDigest(digest: Hash, signer: Signer): Promise<`0x${string}`> {
  return (await signer.signMessage({ message: { raw: hashBytes(digest) } })).toLowerCase() as `0x${string}`;
}

/** The lowercase address that made `sig` over `digest` with signDigest; throws if it does not recover. */
export async function recoverDigestSigner(digest: Hash, sig: `0x${string}`): Promise<Address> {
  return (await recoverMessageAddress({ message: { raw: hashBytes(digest) }, signature: sig })).toLowerCase() as Address;
}

export async function signHeader(h: UnsignedHeader, signer: Signer): Promise<BlockHeader> {
  return { ...h, sig: await signDigest(blockHash(h), signer) };
}

export function recoverSigner(h: BlockHeader): Promise<Address> {
  return recoverDigestSigner(blockHash(h), h.sig);
}

export type SignatureVerdict =
  | { ok: true; signer: Address; delegated: boolean }
  | { ok: false; code: 'bad_signature'; message: string }
  | { ok: false; code: 'wrong_author'; signer: Address; message: string };

export async function verifySignature(h: BlockHeader, isDelegate?: DelegationCheck): Promise<SignatureVerdict> {
  let signer: Address;
  try {
    signer = await recoverSigner(h);
  } catch (e) {
    return { ok: false, code: 'bad_signature', message: `signature does not recover: ${(e as Error).message.split('\n')[0]}` };
  }
  if (signer === h.author) return { ok: true, signer, delegated: false };
  if ((await isDelegate?.(h.author, signer)) === true) return { ok: true, signer, delegated: true };
  return { ok: false, code: 'wrong_author', signer, message: `signed by ${signer}, which is not the author ${h.author} nor a key it delegated` };
}

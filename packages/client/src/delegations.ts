import type { Address } from '@blyan/block';
import { type Hex, isHex, recoverMessageAddress } from 'viem';
import { parseSiweMessage } from 'viem/siwe';
import { RelayError } from './errors.ts';
import type { RelayClient } from './relay-client.ts';

/** Did `author` delegate block signing to `signer` at `at` (ms since the epoch)? */
export type DelegationLookup = (author: Address, signer: Address, at: number) => Promise<boolean>;

/** One login that delegated to a session key, as GET /v1/delegations/:key lists it. */
export interface DelegationProof {
  account: Address;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  message: string;
  signature: Hex;
}

/** The span [from, to) during which a proof shows `account` letting a session key sign for it. */
export interface ProvenDelegation {
  account: Address;
  from: number;
  to: number;
}

const SESSION_KEY = /^urn:blyan:session-key:(0x[0-9a-fA-F]{40})$/;

/**
 * Checks a delegation from its EIP-4361 message and wallet signature alone, trusting nothing else
 * the relay says: the message must parse, name exactly one session key (`key`) in its resources,
 * state issued-at and expiration times, and be signed by its own address. Returns the proven
 * account and span, or the reason it fails. Revocation is not consulted (as in the relay's
 * `blyan verify`): logout stops the relay accepting new blocks, it does not undo earlier ones.
 */
export async function checkDelegation(proof: Pick<DelegationProof, 'message' | 'signature'>, key: Address): Promise<ProvenDelegation | string> {
  let m: ReturnType<typeof parseSiweMessage>;
  try {
    m = parseSiweMessage(proof.message);
  } catch (e) {
    return `the message is not EIP-4361: ${(e as Error).message.split('\n')[0]}`;
  }
  if (m.address === undefined) return 'the message names no address';
  const keys = (m.resources ?? []).map((r) => SESSION_KEY.exec(r)?.[1]?.toLowerCase()).filter((k) => k !== undefined);
  if (keys.length !== 1 || keys[0] !== key) return `the message does not delegate to exactly the session key ${key}`;
  if (m.issuedAt === undefined || m.expirationTime === undefined) return 'the message lacks an issued-at or expiration time';
  if (!isHex(proof.signature) || proof.signature.length !== 132) return 'the signature is not 65 bytes of 0x-hex';
  let signer: string;
  try {
    signer = await recoverMessageAddress({ message: proof.message, signature: proof.signature });
  } catch (e) {
    return `the signature does not recover: ${(e as Error).message.split('\n')[0]}`;
  }
  const account = m.address.toLowerCase() as Address;
  if (signer.toLowerCase() !== account) return `the message is signed by ${signer.toLowerCase()}, not by ${account}`;
  return { account, from: m.issuedAt.getTime(), to: m.expirationTime.getTime() };
}

/**
 * A DelegationLookup answered from the relay's published logins (GET /v1/delegations/:key), each
 * re-checked with checkDelegation: a session-signed block is its author's if a proven delegation
 * of that author covered the block's `created_at`. Proofs are fetched once per session key.
 */
export function relayDelegations(client: RelayClient): DelegationLookup {
  const proven = new Map<Address, Promise<ProvenDelegation[]>>();
  const load = async (key: Address): Promise<ProvenDelegation[]> => {
    let proofs: DelegationProof[];
    try {
      proofs = ((await (await client.get(`/delegations/${key}`)).json()) as { delegations: DelegationProof[] }).delegations;
    } catch (e) {
      if (e instanceof RelayError && e.status === 404) return [];
      proven.delete(key);
      throw e;
    }
    if (!Array.isArray(proofs)) throw new Error(`the relay's delegations of ${key} are not a list`);
    const checked = await Promise.all(proofs.map((p) => checkDelegation(p, key)));
    return checked.filter((c): c is ProvenDelegation => typeof c !== 'string');
  };
  return async (author, signer, at) => {
    if (!proven.has(signer)) proven.set(signer, load(signer));
    return (await proven.get(signer)!).some((d) => d.account === author && d.from <= at && at < d.to);
  };
}

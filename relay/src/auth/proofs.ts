import type { Address } from '@blyan/block';
import { type ProvenDelegation, checkDelegation } from '@blyan/client';
import type Database from 'better-sqlite3';
import type { Hex } from 'viem';

/** Was `signer` a session key of `author` at time `at` (ms)? */
export type DelegatedAt = (author: Address, signer: Address, at: number) => boolean;

interface Row {
  account: Address;
  session_key: Address;
  message: string;
  signature: Hex;
}

/**
 * The delegations of every stored login, each proven by `checkDelegation` from its SIWE message and
 * signature alone (the account, the one session key and the span are the signed message's, not
 * the row's), for replaying the chain: a block signed by a session key was valid if a proven
 * delegation of its author covered its `created_at`. Revocation is not consulted: it stops future
 * acceptance, it does not undo blocks accepted while the session lived.
 */
export async function provenDelegations(db: Database.Database): Promise<DelegatedAt> {
  const windows = new Map<string, ProvenDelegation[]>();
  for (const r of db.prepare<[], Row>('SELECT account, session_key, message, signature FROM sessions').all()) {
    const proof = await checkDelegation(r, r.session_key);
    if (typeof proof === 'string') continue;
    const key = `${proof.account}:${r.session_key}`;
    windows.set(key, [...(windows.get(key) ?? []), proof]);
  }
  return (author, signer, at) => (windows.get(`${author}:${signer}`) ?? []).some(({ from, to }) => from <= at && at < to);
}

import type { Address } from '@blyan/block';
import type Database from 'better-sqlite3';
import { recoverMessageAddress, type Hex } from 'viem';

/** Was `signer` a session key of `author` at time `at` (ms)? */
export type DelegatedAt = (author: Address, signer: Address, at: number) => boolean;

interface Row {
  account: Address;
  session_key: Address;
  issued_at: number;
  expires_at: number;
  message: string;
  signature: Hex;
}

/**
 * The delegations of every stored login whose SIWE message is signed by its account and names
 * its session key, re-checked from the message and signature (not trusted from the row), for
 * replaying the chain: a block signed by a session key was valid if a proven delegation of its
 * author covered its `created_at`. Revocation is not consulted: it stops future acceptance, it
 * does not undo blocks accepted while the session lived.
 */
export async function provenDelegations(db: Database.Database): Promise<DelegatedAt> {
  const windows = new Map<string, [number, number][]>();
  for (const r of db.prepare<[], Row>('SELECT account, session_key, issued_at, expires_at, message, signature FROM sessions').all()) {
    let signer: string;
    try {
      signer = (await recoverMessageAddress({ message: r.message, signature: r.signature })).toLowerCase();
    } catch {
      continue;
    }
    if (signer !== r.account || !r.message.toLowerCase().includes(`urn:blyan:session-key:${r.session_key}`)) continue;
    const key = `${r.account}:${r.session_key}`;
    windows.set(key, [...(windows.get(key) ?? []), [r.issued_at, r.expires_at]]);
  }
  return (author, signer, at) => (windows.get(`${author}:${signer}`) ?? []).some(([from, to]) => from <= at && at < to);
}

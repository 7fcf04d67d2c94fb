import type { Address } from '@blyan/block';
import { type ProvenDelegation, checkDelegation } from '@blyan/client';
import { existsSync } from 'node:fs';
import type { Hex } from 'viem';
import pg from 'pg';
import { accountsPath, openAccountsDb } from '../accounts/db.ts';
import type { Backends } from '../store/open.ts';

/** Was `signer` a session key of `author` at time `at` (ms)? */
export type DelegatedAt = (author: Address, signer: Address, at: number) => boolean;

/** A stored login: what proves its delegation. */
export interface LoginRow {
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
export async function provenDelegations(logins: readonly LoginRow[]): Promise<DelegatedAt> {
  const windows = new Map<string, ProvenDelegation[]>();
  for (const r of logins) {
    const proof = await checkDelegation(r, r.session_key);
    if (typeof proof === 'string') continue;
    const key = `${proof.account}:${r.session_key}`;
    windows.set(key, [...(windows.get(key) ?? []), proof]);
  }
  return (author, signer, at) => (windows.get(`${author}:${signer}`) ?? []).some(({ from, to }) => from <= at && at < to);
}

const LOGINS = 'SELECT account, session_key, message, signature FROM sessions';

/** Every login a relay stored, read without writing: from its PostgreSQL database, else its accounts.sqlite if there is one. */
export async function storedLogins(dir: string, backends: Backends): Promise<LoginRow[]> {
  if (backends.database !== undefined) {
    const client = new pg.Client({ connectionString: backends.database });
    await client.connect();
    try {
      return (await client.query<LoginRow>(LOGINS)).rows;
    } finally {
      await client.end();
    }
  }
  if (!existsSync(accountsPath(dir))) return [];
  const db = openAccountsDb(accountsPath(dir), 'readonly');
  try {
    return db.prepare<[], LoginRow>(LOGINS).all();
  } finally {
    db.close();
  }
}

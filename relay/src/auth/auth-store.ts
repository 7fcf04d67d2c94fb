import { createHash } from 'node:crypto';
import type { Address, DelegationCheck } from '@blyan/block';

/** A session-key delegation: `sessionKey` may sign blocks for `account` until `expiresAt` (ms). */
export interface Delegation {
  readonly account: Address;
  readonly sessionKey: Address;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** A delegation as published: the SIWE message and wallet signature that prove it. */
export interface DelegationProof extends Delegation {
  readonly revokedAt: number | null;
  readonly message: string;
  readonly signature: string;
}

export type NonceUse = 'ok' | 'unknown_nonce' | 'nonce_expired';

/**
 * Single-use SIWE nonces and login sessions. The cookie carries a random token; only its SHA-256
 * is stored. A session is live until it expires or is revoked, and while live it is the
 * delegation that lets its session key sign blocks for its account. Embedded in accounts.sqlite
 * (SqliteAuthStore) or shared by every replica on PostgreSQL (PgAuthStore): a nonce issued by one
 * replica is used once on any, a session opened on one is live on all.
 */
export interface AuthStore {
  /**
   * A fresh nonce. The store holds at most its `maxNonces`: expired ones are pruned, then the oldest
   * unused are evicted, so a flood costs honest users at worst a retry and never grows the table.
   */
  issueNonce(ttlMs: number): Promise<{ nonce: string; expiresAt: number }>;
  /** Deletes the nonce: 'ok' if it was issued, unused (still stored) and unexpired; says why not otherwise. */
  useNonce(nonce: string): Promise<NonceUse>;
  /** Is `sessionKey` the key of a live session (of any account)? */
  keyInUse(sessionKey: Address): Promise<boolean>;
  /**
   * Stores a session for a checked login and returns its cookie token, or null when another live
   * session already holds its session key (checked and written in one step, so two logins racing
   * with one key cannot both win).
   */
  openSession(d: Delegation, message: string, signature: string): Promise<string | null>;
  session(token: string): Promise<Delegation | undefined>;
  /** Ends the session and its delegation; false if it was not live. */
  revoke(token: string): Promise<boolean>;
  /** The chain rules' DelegationCheck: a live session of `author` holds `signer` as its key. */
  readonly isDelegate: DelegationCheck;
  /** Every login that delegated to `sessionKey`, oldest first, with the SIWE message and signature. */
  proofs(sessionKey: Address): Promise<DelegationProof[]>;
}

/** A session row as both stores keep it. */
export interface SessionRow {
  account: Address;
  session_key: Address;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  message: string;
  signature: string;
}

export const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export const toDelegation = (r: SessionRow): Delegation => ({ account: r.account, sessionKey: r.session_key, issuedAt: r.issued_at, expiresAt: r.expires_at });

export const toProof = (r: SessionRow): DelegationProof => ({ ...toDelegation(r), revokedAt: r.revoked_at, message: r.message, signature: r.signature });

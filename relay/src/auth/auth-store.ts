import { createHash, randomBytes } from 'node:crypto';
import type { Address, DelegationCheck } from '@blyan/block';
import type Database from 'better-sqlite3';

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

export type NonceUse = 'ok' | 'unknown_nonce' | 'nonce_used' | 'nonce_expired';

interface SessionRow {
  account: Address;
  session_key: Address;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  message: string;
  signature: string;
}

const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

const toProof = (r: SessionRow): DelegationProof => ({
  account: r.account,
  sessionKey: r.session_key,
  issuedAt: r.issued_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  message: r.message,
  signature: r.signature,
});

/**
 * Single-use SIWE nonces and login sessions. The cookie carries a random token; only its SHA-256
 * is stored. A session is live until it expires or is revoked, and while live it is the
 * delegation that lets its session key sign blocks for its account.
 */
export class AuthStore {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.s = {
      insertNonce: db.prepare('INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)'),
      nonce: db.prepare<[string], { expires_at: number; used_at: number | null }>('SELECT expires_at, used_at FROM nonces WHERE nonce = ?'),
      useNonce: db.prepare('UPDATE nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL AND expires_at > ?'),
      pruneNonces: db.prepare('DELETE FROM nonces WHERE expires_at <= ?'),
      insertSession: db.prepare(
        `INSERT INTO sessions (token_hash, account, session_key, issued_at, expires_at, message, signature)
         VALUES (@token_hash, @account, @session_key, @issued_at, @expires_at, @message, @signature)`,
      ),
      session: db.prepare<[string, number], SessionRow>('SELECT * FROM sessions WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?'),
      revoke: db.prepare('UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL'),
      live: db.prepare<[string, string, number], { one: number }>(
        'SELECT 1 AS one FROM sessions WHERE session_key = ? AND account = ? AND revoked_at IS NULL AND expires_at > ? LIMIT 1',
      ),
      proofs: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE session_key = ? ORDER BY issued_at'),
    };
  }

  issueNonce(ttlMs: number): { nonce: string; expiresAt: number } {
    const now = this.now();
    this.s.pruneNonces.run(now);
    const nonce = randomBytes(16).toString('hex');
    this.s.insertNonce.run(nonce, now + ttlMs);
    return { nonce, expiresAt: now + ttlMs };
  }

  /** Marks the nonce used if it was issued, unused and unexpired; says why not otherwise. */
  useNonce(nonce: string): NonceUse {
    const now = this.now();
    if (this.s.useNonce.run(now, nonce, now).changes === 1) return 'ok';
    const row = this.s.nonce.get(nonce);
    if (!row) return 'unknown_nonce';
    return row.used_at !== null ? 'nonce_used' : 'nonce_expired';
  }

  /** Stores a session for a checked login and returns its cookie token. */
  openSession(d: Delegation, message: string, signature: string): string {
    const token = randomBytes(32).toString('base64url');
    this.s.insertSession.run({
      token_hash: tokenHash(token),
      account: d.account,
      session_key: d.sessionKey,
      issued_at: d.issuedAt,
      expires_at: d.expiresAt,
      message,
      signature,
    });
    return token;
  }

  session(token: string): Delegation | undefined {
    const row = this.s.session.get(tokenHash(token), this.now());
    return row && { account: row.account, sessionKey: row.session_key, issuedAt: row.issued_at, expiresAt: row.expires_at };
  }

  /** Ends the session and its delegation; false if it was not live. */
  revoke(token: string): boolean {
    return this.s.revoke.run(this.now(), tokenHash(token)).changes === 1;
  }

  /** The chain rules' DelegationCheck: a live session of `author` holds `signer` as its key. */
  readonly isDelegate: DelegationCheck = (author, signer) => this.s.live.get(signer, author, this.now()) !== undefined;

  /** Every login that delegated to `sessionKey`, oldest first, with the SIWE message and signature. */
  proofs(sessionKey: Address): DelegationProof[] {
    return this.s.proofs.all(sessionKey).map(toProof);
  }
}

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

export type NonceUse = 'ok' | 'unknown_nonce' | 'nonce_expired';

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
    private readonly db: Database.Database,
    private readonly now: () => number,
    /** Most unused nonces kept: issuing one more evicts the oldest. */
    private readonly maxNonces = 10_000,
  ) {
    this.s = {
      insertNonce: db.prepare('INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)'),
      useNonce: db.prepare<[string], { expires_at: number }>('DELETE FROM nonces WHERE nonce = ? RETURNING expires_at'),
      pruneNonces: db.prepare('DELETE FROM nonces WHERE expires_at <= ?'),
      nonceCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM nonces'),
      evictNonces: db.prepare('DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces ORDER BY expires_at LIMIT ?)'),
      keyInUse: db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM sessions WHERE session_key = ? AND revoked_at IS NULL AND expires_at > ? LIMIT 1'),
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

  /**
   * A fresh nonce. The table holds at most `maxNonces`: expired ones are pruned, then the oldest
   * unused are evicted, so a flood costs honest users at worst a retry and never grows the table.
   */
  issueNonce(ttlMs: number): { nonce: string; expiresAt: number } {
    const now = this.now();
    this.s.pruneNonces.run(now);
    const over = this.s.nonceCount.get()!.n - this.maxNonces + 1;
    if (over > 0) this.s.evictNonces.run(over);
    const nonce = randomBytes(16).toString('hex');
    this.s.insertNonce.run(nonce, now + ttlMs);
    return { nonce, expiresAt: now + ttlMs };
  }

  /** Deletes the nonce: 'ok' if it was issued, unused (still stored) and unexpired; says why not otherwise. */
  useNonce(nonce: string): NonceUse {
    const row = this.s.useNonce.get(nonce);
    if (!row) return 'unknown_nonce';
    return row.expires_at > this.now() ? 'ok' : 'nonce_expired';
  }

  /** Is `sessionKey` the key of a live session (of any account)? */
  keyInUse(sessionKey: Address): boolean {
    return this.s.keyInUse.get(sessionKey, this.now()) !== undefined;
  }

  /**
   * Stores a session for a checked login and returns its cookie token, or null when another live
   * session already holds its session key (checked and written in one step, so two logins racing
   * with one key cannot both win).
   */
  openSession(d: Delegation, message: string, signature: string): string | null {
    const token = randomBytes(32).toString('base64url');
    return this.db.transaction(() => {
      if (this.keyInUse(d.sessionKey)) return null;
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
    })();
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

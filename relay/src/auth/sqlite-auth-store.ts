import { randomBytes } from 'node:crypto';
import type { Address, DelegationCheck } from '@blyan/block';
import type Database from 'better-sqlite3';
import { type AuthStore, type Delegation, type DelegationProof, type NonceUse, type SessionRow, toDelegation, toProof, tokenHash } from './auth-store.ts';

/** The AuthStore in accounts.sqlite (the embedded relay). */
export class SqliteAuthStore implements AuthStore {
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

  async issueNonce(ttlMs: number): Promise<{ nonce: string; expiresAt: number }> {
    const now = this.now();
    this.s.pruneNonces.run(now);
    const over = this.s.nonceCount.get()!.n - this.maxNonces + 1;
    if (over > 0) this.s.evictNonces.run(over);
    const nonce = randomBytes(16).toString('hex');
    this.s.insertNonce.run(nonce, now + ttlMs);
    return { nonce, expiresAt: now + ttlMs };
  }

  async useNonce(nonce: string): Promise<NonceUse> {
    const row = this.s.useNonce.get(nonce);
    if (!row) return 'unknown_nonce';
    return row.expires_at > this.now() ? 'ok' : 'nonce_expired';
  }

  async keyInUse(sessionKey: Address): Promise<boolean> {
    return this.s.keyInUse.get(sessionKey, this.now()) !== undefined;
  }

  async openSession(d: Delegation, message: string, signature: string): Promise<string | null> {
    const token = randomBytes(32).toString('base64url');
    return this.db.transaction(() => {
      if (this.s.keyInUse.get(d.sessionKey, this.now()) !== undefined) return null;
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

  async session(token: string): Promise<Delegation | undefined> {
    const row = this.s.session.get(tokenHash(token), this.now());
    return row && toDelegation(row);
  }

  async revoke(token: string): Promise<boolean> {
    return this.s.revoke.run(this.now(), tokenHash(token)).changes === 1;
  }

  readonly isDelegate: DelegationCheck = (author, signer) => this.s.live.get(signer, author, this.now()) !== undefined;

  async proofs(sessionKey: Address): Promise<DelegationProof[]> {
    return this.s.proofs.all(sessionKey).map(toProof);
  }
}

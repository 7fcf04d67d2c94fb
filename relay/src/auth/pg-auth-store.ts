import { randomBytes } from 'node:crypto';
import type { Address, DelegationCheck } from '@blyan/block';
import type pg from 'pg';
import { LOGIN_LOCK } from '../store/pg-schema.ts';
import { inTransaction } from '../store/pg-pool.ts';
import { type AuthStore, type Delegation, type DelegationProof, type NonceUse, type SessionRow, toDelegation, toProof, tokenHash } from './auth-store.ts';

/**
 * The AuthStore on PostgreSQL, shared by every replica. Using a nonce is one DELETE … RETURNING,
 * so of two replicas given the same nonce exactly one sees it; a login takes an advisory lock on
 * its session key, so two logins racing with one key on two replicas cannot both open a session.
 */
export class PgAuthStore implements AuthStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
    /** Most unused nonces kept: issuing one more evicts the oldest. */
    private readonly maxNonces = 10_000,
  ) {}

  async issueNonce(ttlMs: number): Promise<{ nonce: string; expiresAt: number }> {
    const now = this.now();
    const nonce = randomBytes(16).toString('hex');
    await this.pool.query(
      `WITH pruned AS (DELETE FROM nonces WHERE expires_at <= $1),
       evicted AS (DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces ORDER BY expires_at DESC OFFSET $2))
       INSERT INTO nonces (nonce, expires_at) VALUES ($3, $4)`,
      [now, this.maxNonces - 1, nonce, now + ttlMs],
    );
    return { nonce, expiresAt: now + ttlMs };
  }

  async useNonce(nonce: string): Promise<NonceUse> {
    const { rows } = await this.pool.query<{ expires_at: number }>('DELETE FROM nonces WHERE nonce = $1 RETURNING expires_at', [nonce]);
    if (rows.length === 0) return 'unknown_nonce';
    return rows[0]!.expires_at > this.now() ? 'ok' : 'nonce_expired';
  }

  keyInUse(sessionKey: Address): Promise<boolean> {
    return this.held(this.pool, sessionKey);
  }

  private async held(q: pg.Pool | pg.PoolClient, sessionKey: Address): Promise<boolean> {
    const { rows } = await q.query('SELECT 1 FROM sessions WHERE session_key = $1 AND revoked_at IS NULL AND expires_at > $2 LIMIT 1', [sessionKey, this.now()]);
    return rows.length > 0;
  }

  async openSession(d: Delegation, message: string, signature: string): Promise<string | null> {
    const token = randomBytes(32).toString('base64url');
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOGIN_LOCK, d.sessionKey]);
      if (await this.held(client, d.sessionKey)) return null;
      await client.query(
        `INSERT INTO sessions (token_hash, account, session_key, issued_at, expires_at, message, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [tokenHash(token), d.account, d.sessionKey, d.issuedAt, d.expiresAt, message, signature],
      );
      return token;
    });
  }

  async session(token: string): Promise<Delegation | undefined> {
    const { rows } = await this.pool.query<SessionRow>('SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2', [tokenHash(token), this.now()]);
    return rows[0] && toDelegation(rows[0]);
  }

  async revoke(token: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL', [this.now(), tokenHash(token)]);
    return rowCount === 1;
  }

  readonly isDelegate: DelegationCheck = async (author, signer) => {
    const { rows } = await this.pool.query('SELECT 1 FROM sessions WHERE session_key = $1 AND account = $2 AND revoked_at IS NULL AND expires_at > $3 LIMIT 1', [signer, author, this.now()]);
    return rows.length > 0;
  };

  async proofs(sessionKey: Address): Promise<DelegationProof[]> {
    const { rows } = await this.pool.query<SessionRow>('SELECT * FROM sessions WHERE session_key = $1 ORDER BY issued_at', [sessionKey]);
    return rows.map(toProof);
  }
}

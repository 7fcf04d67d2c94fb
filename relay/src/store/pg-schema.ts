import type pg from 'pg';

/**
 * The relay's schema on PostgreSQL, as numbered migrations: 1 the index, 2 sign-in and rate limits
 * (what replicas must share to act as one relay). Each one is safe to run again (IF NOT
 * EXISTS), and `migrate` applies the missing ones in one transaction under an advisory lock, so
 * replicas starting together neither race nor apply one twice.
 *
 * The chain's invariants are constraints, not only code: a block hash is stored once; a slot of a
 * model version holds one block per index (two replicas cannot both extend the same head); a head
 * and the meta head name a stored block; tile leaves are whole 32-byte hashes.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS blocks (
     seq integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
     chain text NOT NULL CHECK (chain IN ('A', 'B', 'D')),
     version text NOT NULL,
     slot text NOT NULL,
     idx integer NOT NULL CHECK (idx >= 0),
     author text NOT NULL,
     created_at bigint NOT NULL,
     payload_hash text NOT NULL CHECK (payload_hash ~ '^[0-9a-f]{64}$'),
     header text NOT NULL,
     leaves bytea NOT NULL CHECK (octet_length(leaves) % 32 = 0),
     verdict text,
     UNIQUE (version, slot, idx)
   );
   CREATE INDEX IF NOT EXISTS blocks_by_slot ON blocks (version, slot, seq);
   CREATE INDEX IF NOT EXISTS blocks_by_chain ON blocks (chain, seq);
   CREATE INDEX IF NOT EXISTS blocks_by_payload ON blocks (payload_hash);
   CREATE TABLE IF NOT EXISTS heads (
     version text NOT NULL,
     slot text NOT NULL,
     chain text NOT NULL CHECK (chain IN ('B', 'D')),
     hash text NOT NULL REFERENCES blocks (hash),
     PRIMARY KEY (version, slot)
   );
   CREATE TABLE IF NOT EXISTS meta_head (
     one boolean PRIMARY KEY DEFAULT true CHECK (one),
     hash text NOT NULL REFERENCES blocks (hash)
   );`,
  `CREATE TABLE IF NOT EXISTS nonces (nonce text PRIMARY KEY, expires_at bigint NOT NULL);
   CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at);
   CREATE TABLE IF NOT EXISTS sessions (
     token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
     account text NOT NULL,
     session_key text NOT NULL,
     issued_at bigint NOT NULL,
     expires_at bigint NOT NULL,
     revoked_at bigint,
     message text NOT NULL,
     signature text NOT NULL
   );
   CREATE INDEX IF NOT EXISTS sessions_by_key ON sessions (session_key, account);
   CREATE TABLE IF NOT EXISTS rate_hits (key text PRIMARY KEY, hits integer NOT NULL CHECK (hits >= 0), reset_at bigint NOT NULL);
   CREATE INDEX IF NOT EXISTS rate_hits_by_reset ON rate_hits (reset_at);`,
];

/** Advisory lock keys (any constants unique to Blyan): schema migration, the append order, and a session key's login. */
export const MIGRATE_LOCK = 0x626c7961;
export const APPEND_LOCK = 0x626c7962;
export const LOGIN_LOCK = 0x626c7963;

/** Brings the database up to PG_MIGRATIONS; returns the version it was at. */
export async function migrate(client: pg.PoolClient): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS blyan_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM blyan_migrations');
    const from = rows[0]?.v ?? 0;
    if (from > PG_MIGRATIONS.length) throw new Error(`database has relay schema ${from}; this relay reads schema ${PG_MIGRATIONS.length}`);
    for (let v = from; v < PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v]!);
      await client.query('INSERT INTO blyan_migrations (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
    return from;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

/** For read-only opens: the schema must already be there, at this relay's version. */
export async function checkSchema(client: pg.PoolClient): Promise<void> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('blyan_migrations')::text AS t");
  if (exists.rows[0]?.t == null) throw new Error('no relay schema in this database');
  const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM blyan_migrations');
  const v = rows[0]?.v ?? 0;
  if (v !== PG_MIGRATIONS.length) throw new Error(`database has relay schema ${v}; this relay reads schema ${PG_MIGRATIONS.length}`);
}

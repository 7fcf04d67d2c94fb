import type pg from 'pg';

/**
 * The relay's schema on PostgreSQL, as numbered migrations: 1 the index, 2 sign-in and rate limits
 * (what replicas must share to act as one relay), 3 the rewards ledger, assignments, the
 * contribution queue that `blyan worker` processes take jobs from, and the evaluation secret, 4
 * the data hub and usage rewards (PG_DATA_AND_USAGE). Each one is safe to run again (IF NOT
 * EXISTS), and `migrate` applies the missing ones in one transaction under an advisory lock, so
 * replicas starting together neither race nor apply one twice.
 *
 * The chain's invariants are constraints, not only code: a block hash is stored once; a slot of a
 * model version holds one block per index (two replicas cannot both extend the same head); a head
 * and the meta head name a stored block; tile leaves are whole 32-byte hashes. So are the
 * ledger's: every journal entry has two or more postings summing to 0 (checked at commit), journal
 * and postings are append-only, an entry's (kind, ref) is unique (one credit per contribution);
 * a contribution is judged once per base and delta, its verdict is never replaced, a decided one
 * never changes, and it is credited exactly when accepted.
 *
 * 4 (issue 16): rounds (relay/src/rounds/pg-store.ts). A round's seed matches its commitment and,
 * with its base, never changes; a unit is handed out and filled only while its round is open and
 * unclaimed (so the seed is committed before any delta, and none arrives once judging began); an
 * account holds one unit per round and a unit one delta; a verdict is never replaced and a decided
 * round never changes; an accepted round has its verdict and a positive pool, paid by one journal
 * entry ('round', id), unique like every (kind, ref).
 */
/** (Re)creates trigger `name`, running function `fn` on each row of `table` before `events`: safe to run again. */
const beforeEachRow = (name: string, table: string, events: string, fn: string) =>
  `DROP TRIGGER IF EXISTS ${name} ON ${table}; CREATE TRIGGER ${name} BEFORE ${events} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}();`;
/**
 * Migration 5: the data hub (uploads, documents once by address with their MinHash bands, each
 * upload's documents with tier, held-out flag and review sample, signed votes) and usage rewards
 * (reports, counted use per period, settled periods), so replicas and workers share them. The
 * queue of uploads to score or append is leased like the contribution queue (claimed_until).
 * Invariants held by the database: an account votes once per document, a nonce and a signature
 * count once, a vote names a document of its upload; only a sampled, public document is reviewed
 * and settles once; an upload that reached accepted, refused or failed stays there; a usage
 * report is taken once, use is counted once per (period, account, block) and never into a period
 * already settled, a period is settled once and pays at most its pool (its journal entry unique
 * by (kind, ref), migration 3).
 */
const PG_DATA_AND_USAGE = `CREATE TABLE IF NOT EXISTS data_uploads (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     name text NOT NULL,
     account text NOT NULL,
     source text NOT NULL,
     licence text NOT NULL,
     status text NOT NULL CHECK (status IN ('scoring', 'review', 'appending', 'accepted', 'refused', 'failed')),
     detail text,
     raw_bytes integer NOT NULL CHECK (raw_bytes > 0),
     verdicts text NOT NULL,
     blocks text NOT NULL DEFAULT '[]',
     created_at bigint NOT NULL,
     decided_at bigint,
     claimed_until bigint NOT NULL DEFAULT 0,
     claimed_by text
   );
   CREATE INDEX IF NOT EXISTS data_uploads_by_name ON data_uploads (name, id);
   CREATE INDEX IF NOT EXISTS data_uploads_queue ON data_uploads (id) WHERE status IN ('scoring', 'appending');
   CREATE INDEX IF NOT EXISTS data_uploads_by_account ON data_uploads (account, status);
   CREATE TABLE IF NOT EXISTS data_documents (
     sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
     text text NOT NULL,
     bytes integer NOT NULL CHECK (bytes > 0),
     signature bytea NOT NULL CHECK (octet_length(signature) = 256)
   );
   CREATE TABLE IF NOT EXISTS data_document_bands (band text NOT NULL, sha256 text NOT NULL REFERENCES data_documents (sha256), PRIMARY KEY (band, sha256));
   CREATE TABLE IF NOT EXISTS data_upload_docs (
     upload bigint NOT NULL REFERENCES data_uploads (id),
     position integer NOT NULL CHECK (position >= 0),
     sha256 text NOT NULL REFERENCES data_documents (sha256),
     hidden boolean NOT NULL,
     tier text CHECK (tier IN ('gold', 'silver', 'experimental')),
     bpb double precision,
     overlap double precision,
     sampled boolean NOT NULL DEFAULT false,
     settled text CHECK (settled IN ('keep', 'drop')),
     PRIMARY KEY (upload, position),
     UNIQUE (upload, sha256),
     CHECK (NOT (sampled AND hidden)),
     CHECK (settled IS NULL OR sampled)
   );
   CREATE INDEX IF NOT EXISTS data_upload_docs_by_doc ON data_upload_docs (sha256);
   CREATE TABLE IF NOT EXISTS data_votes (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     upload bigint NOT NULL,
     doc text NOT NULL,
     account text NOT NULL,
     signer text NOT NULL,
     keep boolean NOT NULL,
     nonce text NOT NULL UNIQUE,
     sig text NOT NULL UNIQUE,
     at bigint NOT NULL,
     UNIQUE (upload, doc, account),
     FOREIGN KEY (upload, doc) REFERENCES data_upload_docs (upload, sha256)
   );
   CREATE OR REPLACE FUNCTION blyan_upload_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF OLD.status IN ('accepted', 'refused', 'failed') AND NEW.status IS DISTINCT FROM OLD.status THEN
       RAISE EXCEPTION 'upload % is already %', OLD.id, OLD.status USING ERRCODE = 'restrict_violation';
     END IF;
     RETURN NEW;
   END $$;
   CREATE OR REPLACE FUNCTION blyan_doc_settled_once() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF OLD.settled IS NOT NULL AND NEW.settled IS DISTINCT FROM OLD.settled THEN
       RAISE EXCEPTION 'document % of upload % already settled as %', OLD.sha256, OLD.upload, OLD.settled USING ERRCODE = 'restrict_violation';
     END IF;
     RETURN NEW;
   END $$;
   DROP TRIGGER IF EXISTS data_uploads_decided_once ON data_uploads;
   CREATE TRIGGER data_uploads_decided_once BEFORE UPDATE ON data_uploads FOR EACH ROW EXECUTE FUNCTION blyan_upload_decided_once();
   DROP TRIGGER IF EXISTS data_upload_docs_settled_once ON data_upload_docs;
   CREATE TRIGGER data_upload_docs_settled_once BEFORE UPDATE ON data_upload_docs FOR EACH ROW EXECUTE FUNCTION blyan_doc_settled_once();
   CREATE TABLE IF NOT EXISTS usage_reports (id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'), account text NOT NULL, at bigint NOT NULL, tokens integer NOT NULL CHECK (tokens > 0));
   CREATE TABLE IF NOT EXISTS usage (
     report text NOT NULL REFERENCES usage_reports (id),
     slot text NOT NULL,
     block text NOT NULL,
     tokens integer NOT NULL CHECK (tokens > 0),
     at bigint NOT NULL,
     PRIMARY KEY (report, block)
   );
   CREATE INDEX IF NOT EXISTS usage_by_time ON usage (at, slot);
   CREATE TABLE IF NOT EXISTS usage_periods (period bigint PRIMARY KEY, settled_at bigint NOT NULL, pool bigint NOT NULL CHECK (pool >= 0), paid bigint NOT NULL CHECK (paid >= 0 AND paid <= pool));
   CREATE TABLE IF NOT EXISTS usage_counts (
     period bigint NOT NULL,
     account text NOT NULL,
     block text NOT NULL,
     author text NOT NULL CHECK (author <> account),
     PRIMARY KEY (period, account, block)
   );
   CREATE OR REPLACE FUNCTION blyan_usage_open_period() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF EXISTS (SELECT 1 FROM usage_periods WHERE period >= NEW.period) THEN
       RAISE EXCEPTION 'usage period % is already settled', NEW.period USING ERRCODE = 'restrict_violation';
     END IF;
     RETURN NEW;
   END $$;
   DROP TRIGGER IF EXISTS usage_counts_open_period ON usage_counts;
   CREATE TRIGGER usage_counts_open_period BEFORE INSERT ON usage_counts FOR EACH ROW EXECUTE FUNCTION blyan_usage_open_period();`;

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
  `CREATE TABLE IF NOT EXISTS ledger_accounts (name text PRIMARY KEY, created_at bigint NOT NULL);
   CREATE TABLE IF NOT EXISTS journal (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     at bigint NOT NULL,
     kind text NOT NULL,
     ref text NOT NULL,
     memo text NOT NULL,
     UNIQUE (kind, ref)
   );
   CREATE TABLE IF NOT EXISTS postings (
     journal_id bigint NOT NULL REFERENCES journal (id),
     account text NOT NULL REFERENCES ledger_accounts (name),
     amount bigint NOT NULL CHECK (amount <> 0)
   );
   CREATE INDEX IF NOT EXISTS postings_by_account ON postings (account, journal_id);
   CREATE INDEX IF NOT EXISTS postings_by_entry ON postings (journal_id);
   CREATE OR REPLACE FUNCTION blyan_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
   DECLARE entry bigint := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
   BEGIN
     IF (SELECT count(*) < 2 OR coalesce(sum(amount), 0) <> 0 FROM postings WHERE journal_id = entry) THEN
       RAISE EXCEPTION 'journal entry % does not balance: it needs two or more postings summing to 0', entry USING ERRCODE = 'check_violation';
     END IF;
     RETURN NULL;
   END $$;
   CREATE OR REPLACE FUNCTION blyan_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
   END $$;
   DROP TRIGGER IF EXISTS journal_balances ON journal;
   CREATE CONSTRAINT TRIGGER journal_balances AFTER INSERT ON journal DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION blyan_entry_balances('id');
   DROP TRIGGER IF EXISTS postings_balance ON postings;
   CREATE CONSTRAINT TRIGGER postings_balance AFTER INSERT ON postings DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION blyan_entry_balances('journal_id');
   DROP TRIGGER IF EXISTS journal_append_only ON journal;
   CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal FOR EACH ROW EXECUTE FUNCTION blyan_append_only();
   DROP TRIGGER IF EXISTS postings_append_only ON postings;
   CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings FOR EACH ROW EXECUTE FUNCTION blyan_append_only();
   CREATE TABLE IF NOT EXISTS assignments (
     account text PRIMARY KEY,
     meta text NOT NULL,
     slot text NOT NULL,
     shard integer NOT NULL,
     reason text NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE TABLE IF NOT EXISTS contributions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     account text NOT NULL,
     signer text NOT NULL,
     slot text NOT NULL,
     meta text NOT NULL,
     base text NOT NULL,
     block text NOT NULL,
     payload_hash text NOT NULL,
     shard integer NOT NULL,
     header text NOT NULL,
     delta bytea NOT NULL,
     raw_bytes integer NOT NULL,
     delta_norm double precision NOT NULL,
     status text NOT NULL CHECK (status IN ('queued', 'appending', 'accepted', 'rejected')),
     reason text,
     detail text,
     baseline double precision,
     candidate double precision,
     improvement double precision,
     eval_tokens integer,
     eval_ms double precision,
     credit bigint,
     created_at bigint NOT NULL,
     decided_at bigint,
     seed text NOT NULL,
     commitment text NOT NULL,
     verdict text,
     claimed_until bigint NOT NULL DEFAULT 0,
     claimed_by text,
     CHECK ((status IN ('queued', 'appending')) = (decided_at IS NULL)),
     CHECK (status <> 'appending' OR verdict IS NOT NULL),
     CHECK ((status = 'accepted') = (credit IS NOT NULL))
   );
   CREATE UNIQUE INDEX IF NOT EXISTS contributions_judged_once ON contributions (base, payload_hash) WHERE NOT (status = 'rejected' AND reason = 'evaluation_failed');
   CREATE INDEX IF NOT EXISTS contributions_queue ON contributions (id) WHERE status IN ('queued', 'appending');
   CREATE INDEX IF NOT EXISTS contributions_by_account ON contributions (account, id);
   CREATE OR REPLACE FUNCTION blyan_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'DELETE' OR OLD.status IN ('accepted', 'rejected') THEN
       RAISE EXCEPTION 'contribution % is already decided (%)', OLD.id, OLD.status USING ERRCODE = 'restrict_violation';
     END IF;
     IF OLD.verdict IS NOT NULL AND NEW.verdict IS DISTINCT FROM OLD.verdict THEN
       RAISE EXCEPTION 'contribution % already has its verdict', OLD.id USING ERRCODE = 'restrict_violation';
     END IF;
     RETURN NEW;
   END $$;
   DROP TRIGGER IF EXISTS contributions_decided_once ON contributions;
   CREATE TRIGGER contributions_decided_once BEFORE UPDATE OR DELETE ON contributions FOR EACH ROW EXECUTE FUNCTION blyan_decided_once();
   CREATE TABLE IF NOT EXISTS eval_secret (one boolean PRIMARY KEY DEFAULT true CHECK (one), secret bytea NOT NULL CHECK (octet_length(secret) = 32));`,
  `CREATE TABLE IF NOT EXISTS rounds (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     slot text NOT NULL,
     meta text NOT NULL,
     base text NOT NULL,
     steps integer NOT NULL CHECK (steps > 0),
     seats integer NOT NULL CHECK (seats > 0),
     status text NOT NULL CHECK (status IN ('open', 'appending', 'accepted', 'rejected')),
     reason text,
     seed text NOT NULL CHECK (seed ~ '^[0-9a-f]{64}$'),
     commitment text NOT NULL,
     opened_at bigint NOT NULL,
     decided_at bigint,
     block text,
     header text,
     payload bytea,
     verdict text,
     improvement double precision,
     lower double precision,
     pool bigint CHECK (pool >= 0),
     dataset text,
     dataset_head text,
     genesis_change double precision,
     genesis_lower double precision,
     genesis_bound double precision,
     uploaders text,
     issued integer NOT NULL DEFAULT 0 CHECK (issued >= 0 AND issued <= seats),
     filled integer NOT NULL DEFAULT 0 CHECK (filled >= 0 AND filled <= issued),
     claimed_until bigint NOT NULL DEFAULT 0,
     claimed_by text,
     CHECK (commitment = encode(sha256(decode(seed, 'hex')), 'hex')),
     CHECK ((status = 'open') = (decided_at IS NULL)),
     CHECK (status NOT IN ('appending', 'accepted') OR (verdict IS NOT NULL AND header IS NOT NULL AND payload IS NOT NULL AND pool > 0))
   );
   CREATE INDEX IF NOT EXISTS rounds_by_slot ON rounds (slot, id);
   CREATE INDEX IF NOT EXISTS rounds_with_room ON rounds (meta, dataset, id) WHERE status = 'open';
   CREATE INDEX IF NOT EXISTS rounds_undecided ON rounds (id) WHERE status IN ('open', 'appending');
   CREATE TABLE IF NOT EXISTS round_deltas (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     round bigint NOT NULL REFERENCES rounds (id),
     account text NOT NULL,
     shard integer NOT NULL CHECK (shard >= 0),
     issued_at bigint NOT NULL,
     delta bytea,
     payload_hash text,
     submitted_at bigint,
     status text NOT NULL CHECK (status IN ('assigned', 'submitted', 'kept', 'hurt', 'copy')),
     copy_of bigint REFERENCES round_deltas (id),
     before double precision,
     after double precision,
     credit bigint CHECK (credit >= 0),
     UNIQUE (round, account),
     CHECK ((status = 'assigned') = (delta IS NULL)),
     CHECK ((delta IS NULL) = (payload_hash IS NULL) AND (delta IS NULL) = (submitted_at IS NULL))
   );
   CREATE INDEX IF NOT EXISTS round_deltas_by_account ON round_deltas (account, id);
   CREATE TABLE IF NOT EXISTS round_momentum (slot text PRIMARY KEY, meta text NOT NULL, momentum bytea NOT NULL);
   CREATE OR REPLACE FUNCTION blyan_round_rules() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'DELETE' OR OLD.status IN ('accepted', 'rejected') THEN
       RAISE EXCEPTION 'round % is already decided (%)', OLD.id, OLD.status USING ERRCODE = 'restrict_violation';
     END IF;
     IF (NEW.slot, NEW.meta, NEW.base, NEW.seed, NEW.commitment, NEW.opened_at, NEW.dataset, NEW.dataset_head) IS DISTINCT FROM (OLD.slot, OLD.meta, OLD.base, OLD.seed, OLD.commitment, OLD.opened_at, OLD.dataset, OLD.dataset_head) THEN
       RAISE EXCEPTION 'round % keeps the base and seed it opened with', OLD.id USING ERRCODE = 'restrict_violation';
     END IF;
     IF OLD.verdict IS NOT NULL AND NEW.verdict IS DISTINCT FROM OLD.verdict THEN
       RAISE EXCEPTION 'round % already has its verdict', OLD.id USING ERRCODE = 'restrict_violation';
     END IF;
     IF OLD.status = 'appending' AND NEW.status = 'open' THEN
       RAISE EXCEPTION 'round % is decided', OLD.id USING ERRCODE = 'restrict_violation';
     END IF;
     RETURN NEW;
   END $$;
   ${beforeEachRow('rounds_rules', 'rounds', 'UPDATE OR DELETE', 'blyan_round_rules')}
   CREATE OR REPLACE FUNCTION blyan_round_delta_rules() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.round, OLD.account, OLD.shard) IS DISTINCT FROM (NEW.round, NEW.account, NEW.shard)) THEN
       RAISE EXCEPTION 'work unit % stays as it was handed out', OLD.id USING ERRCODE = 'restrict_violation';
     END IF;
     IF TG_OP = 'UPDATE' AND OLD.delta IS NOT NULL AND (NEW.delta, NEW.payload_hash, NEW.submitted_at) IS DISTINCT FROM (OLD.delta, OLD.payload_hash, OLD.submitted_at) THEN
       RAISE EXCEPTION 'work unit % already holds its delta', OLD.id USING ERRCODE = 'restrict_violation';
     END IF;
     IF (TG_OP = 'INSERT' OR OLD.delta IS NULL) AND NOT EXISTS (SELECT 1 FROM rounds WHERE id = NEW.round AND status = 'open' AND claimed_by IS NULL) THEN
       RAISE EXCEPTION 'round % takes no work unit or delta: it is being judged or decided', NEW.round USING ERRCODE = 'restrict_violation';
     END IF;
     RETURN NEW;
   END $$;
   ${beforeEachRow('round_deltas_rules', 'round_deltas', 'INSERT OR UPDATE OR DELETE', 'blyan_round_delta_rules')}`,
  PG_DATA_AND_USAGE,
];

/**
 * Advisory lock keys (any constants unique to Blyan): schema migration, the append order, a
 * session key's login, the data hub's intake (L0 then store, one upload at a time across
 * replicas), and usage (reports share it, a settlement takes it alone).
 */
export const MIGRATE_LOCK = 0x626c7961;
export const APPEND_LOCK = 0x626c7962;
export const LOGIN_LOCK = 0x626c7963;
export const INTAKE_LOCK = 0x626c7964;
export const USAGE_LOCK = 0x626c7965;

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

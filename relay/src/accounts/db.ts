import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { DATA_TABLES } from '../data/schema.ts';
import { ROUNDS_SCHEMA, ROUND_CLAIMS, ROUND_DATASETS } from '../rounds/schema.ts';
import { openSqlite } from '../store/sqlite-file.ts';

const SCHEMA_VERSION = 7;

/** Each account's live assignment (schema 2). */
const ASSIGNMENTS = `CREATE TABLE IF NOT EXISTS assignments (
  account TEXT PRIMARY KEY,
  meta TEXT NOT NULL,
  slot TEXT NOT NULL,
  shard INTEGER NOT NULL,
  reason TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;`;
/** Finds an earlier submission of the same delta on the same base (schema 2). */
const BY_DELTA = 'CREATE INDEX IF NOT EXISTS contributions_by_delta ON contributions (base, payload_hash);';

/* ---- schema 4 (issue 11, trust): the usage pool ---- */
/**
 * Usage counted toward each period's pool: one row per account, block and period, whatever the
 * tokens; and each settled period with what its pool paid (schema 4).
 */
const USAGE_POOL = `CREATE TABLE IF NOT EXISTS usage_counts (
  period INTEGER NOT NULL,
  account TEXT NOT NULL,
  block TEXT NOT NULL,
  author TEXT NOT NULL,
  PRIMARY KEY (period, account, block)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_periods (period INTEGER PRIMARY KEY, settled_at INTEGER NOT NULL, pool INTEGER NOT NULL, paid INTEGER NOT NULL);`;
/* ---- end schema 4 ---- */

/**
 * Everything about people rather than blocks: SIWE nonces and sessions (each a session-key
 * delegation), each account's live assignment, contributions with their sample seeds and signed
 * verdicts, usage, and the double-entry rewards journal.
 */
const SCHEMA = `
CREATE TABLE nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, used_at INTEGER) WITHOUT ROWID;
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  session_key TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  message TEXT NOT NULL,
  signature TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_key ON sessions (session_key, account);
CREATE TABLE contributions (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  signer TEXT NOT NULL,
  slot TEXT NOT NULL,
  meta TEXT NOT NULL,
  base TEXT NOT NULL,
  block TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  shard INTEGER NOT NULL,
  header TEXT NOT NULL,
  delta BLOB NOT NULL,
  raw_bytes INTEGER NOT NULL,
  delta_norm REAL NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'appending', 'accepted', 'rejected')),
  reason TEXT,
  detail TEXT,
  baseline REAL,
  candidate REAL,
  improvement REAL,
  eval_tokens INTEGER,
  eval_ms REAL,
  credit INTEGER,
  created_at INTEGER NOT NULL,
  decided_at INTEGER,
  seed TEXT NOT NULL,
  commitment TEXT NOT NULL,
  verdict TEXT
);
CREATE INDEX contributions_by_account ON contributions (account, created_at);
CREATE INDEX contributions_by_status ON contributions (status, id);
${BY_DELTA}
${ASSIGNMENTS}
CREATE TABLE usage_reports (id TEXT PRIMARY KEY, account TEXT NOT NULL, at INTEGER NOT NULL, tokens INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE usage (report TEXT NOT NULL, slot TEXT NOT NULL, block TEXT NOT NULL, tokens INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX usage_by_time ON usage (at, slot);
CREATE TABLE ledger_accounts (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE journal (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, memo TEXT NOT NULL, UNIQUE (kind, ref));
CREATE TABLE postings (
  journal_id INTEGER NOT NULL REFERENCES journal (id),
  account TEXT NOT NULL REFERENCES ledger_accounts (name),
  amount INTEGER NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_by_account ON postings (account, journal_id);
${DATA_TABLES}
${USAGE_POOL}

${ROUNDS_SCHEMA}
${ROUND_DATASETS}
${ROUND_CLAIMS}
`;

/**
 * Schema 1 to 2: contributions gain their payload hash, shard, sample seed and commitment, and
 * verdict; assignments are kept per account. Rows still waiting were taken under rules this relay
 * no longer applies (no assignment, no seed), so they are closed as evaluation_failed, which lets
 * their authors submit them again.
 */
const MIGRATIONS: Record<number, string> = {
  1: `
ALTER TABLE contributions ADD COLUMN payload_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE contributions ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contributions ADD COLUMN seed TEXT NOT NULL DEFAULT '';
ALTER TABLE contributions ADD COLUMN commitment TEXT NOT NULL DEFAULT '';
ALTER TABLE contributions ADD COLUMN verdict TEXT;
UPDATE contributions SET status = 'rejected', reason = 'evaluation_failed', detail = 'queued before this relay judged on seeded samples; submit it again'
  WHERE status IN ('queued', 'appending');
${BY_DELTA}
${ASSIGNMENTS}
`,
  // ---- data hub (issue 13): schema 2 to 3 adds the data hub's tables, nothing else changes ----
  2: DATA_TABLES,
  // ---- end data hub ----
  /** Schema 3 to 4 (issue 11, trust): usage credit comes from a fixed pool per period (usage already credited stays). */
  3: USAGE_POOL,
  /** Schema 4 to 5 (issue 14): rounds per slot (relay/src/rounds/schema.ts). */
  4: ROUNDS_SCHEMA,
  /** Schema 5 to 6 (issue 14): rounds on a chain-D dataset (relay/src/rounds/schema.ts). */
  5: ROUND_DATASETS,
  /** Schema 6 to 7 (issue 16): rounds count their units and are judged by claim (relay/src/rounds/schema.ts). */
  6: ROUND_CLAIMS,
};

export const accountsPath = (dir: string) => join(dir, 'accounts.sqlite');

/** Opens (creating on first use) the accounts database, foreign keys on. */
export function openAccountsDb(path: string, mode: 'readwrite' | 'readonly' = 'readwrite'): Database.Database {
  if (mode === 'readonly' && !existsSync(path)) throw new Error(`no accounts database at ${path}`);
  const db = openSqlite(path, mode, { what: 'accounts', sql: SCHEMA, version: SCHEMA_VERSION, migrations: MIGRATIONS });
  db.pragma('foreign_keys = ON');
  return db;
}

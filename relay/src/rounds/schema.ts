/**
 * Rounds (schema 3): a round per slot gathers many contributors' deltas against one base, judges
 * their aggregate once, and keeps each delta's own score and share. `round_deltas` rows are work
 * units until their delta arrives; `round_momentum` is each slot's outer optimizer state.
 */
export const ROUNDS_SCHEMA = `
CREATE TABLE IF NOT EXISTS rounds (
  id INTEGER PRIMARY KEY,
  slot TEXT NOT NULL,
  meta TEXT NOT NULL,
  base TEXT NOT NULL,
  steps INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'appending', 'accepted', 'rejected')),
  reason TEXT,
  seed TEXT NOT NULL,
  commitment TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  decided_at INTEGER,
  block TEXT,
  header TEXT,
  payload BLOB,
  verdict TEXT,
  improvement REAL,
  lower REAL,
  pool INTEGER
);
CREATE INDEX IF NOT EXISTS rounds_by_slot ON rounds (slot, id);
CREATE INDEX IF NOT EXISTS rounds_by_status ON rounds (status, id);
CREATE TABLE IF NOT EXISTS round_deltas (
  id INTEGER PRIMARY KEY,
  round INTEGER NOT NULL REFERENCES rounds (id),
  account TEXT NOT NULL,
  shard INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  delta BLOB,
  payload_hash TEXT,
  submitted_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('assigned', 'submitted', 'kept', 'hurt', 'copy')),
  copy_of INTEGER,
  before REAL,
  after REAL,
  credit INTEGER,
  UNIQUE (round, account)
);
CREATE INDEX IF NOT EXISTS round_deltas_by_account ON round_deltas (account, id);
CREATE TABLE IF NOT EXISTS round_momentum (slot TEXT PRIMARY KEY, meta TEXT NOT NULL, momentum BLOB NOT NULL) WITHOUT ROWID;
`;

/**
 * Rounds on a dataset (schema 6): a round may target a chain-D dataset (`dataset`, pinned to its
 * head when it opened) instead of the meta block's hidden split; it then records its
 * non-inferiority figures on the genesis hidden split and what its dataset's uploaders were paid.
 */
export const ROUND_DATASETS = `
ALTER TABLE rounds ADD COLUMN dataset TEXT;
ALTER TABLE rounds ADD COLUMN dataset_head TEXT;
ALTER TABLE rounds ADD COLUMN genesis_change REAL;
ALTER TABLE rounds ADD COLUMN genesis_lower REAL;
ALTER TABLE rounds ADD COLUMN genesis_bound REAL;
ALTER TABLE rounds ADD COLUMN uploaders TEXT;
CREATE INDEX IF NOT EXISTS rounds_by_dataset ON rounds (dataset, id);
`;

/**
 * Rounds judged by claim (schema 7): each round keeps its seats (work units it hands out; rounds
 * opened before had the default 8) and counts its units and filled units on its own row
 * (finding a round with room or a full one counts nothing), and a judge claims it for a lease
 * (`claimed_by`: from then on it takes no delta and hands out no unit).
 */
export const ROUND_CLAIMS = `
ALTER TABLE rounds ADD COLUMN seats INTEGER NOT NULL DEFAULT 8;
ALTER TABLE rounds ADD COLUMN issued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN filled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN claimed_by TEXT;
UPDATE rounds SET issued = (SELECT COUNT(*) FROM round_deltas d WHERE d.round = rounds.id),
  filled = (SELECT COUNT(*) FROM round_deltas d WHERE d.round = rounds.id AND d.status <> 'assigned');
`;

/**
 * The data hub's tables (accounts schema 3): uploads with their L0 verdicts and status, each
 * document's text stored once by its SHA-256 with its MinHash signature and LSH band keys, each
 * upload's documents (tier, held-out flag, review sample), and signed review votes.
 */
export const DATA_TABLES = `
CREATE TABLE IF NOT EXISTS data_uploads (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  account TEXT NOT NULL,
  source TEXT NOT NULL,
  licence TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('scoring', 'review', 'appending', 'accepted', 'refused', 'failed')),
  detail TEXT,
  raw_bytes INTEGER NOT NULL,
  verdicts TEXT NOT NULL,
  blocks TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  decided_at INTEGER
);
CREATE INDEX IF NOT EXISTS data_uploads_by_name ON data_uploads (name, id);
CREATE INDEX IF NOT EXISTS data_uploads_by_status ON data_uploads (status, id);
CREATE INDEX IF NOT EXISTS data_uploads_by_account ON data_uploads (account, status);
CREATE TABLE IF NOT EXISTS data_documents (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL, bytes INTEGER NOT NULL, signature BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS data_document_bands (band TEXT NOT NULL, sha256 TEXT NOT NULL REFERENCES data_documents (sha256));
CREATE INDEX IF NOT EXISTS data_document_bands_by_band ON data_document_bands (band);
CREATE TABLE IF NOT EXISTS data_upload_docs (
  upload INTEGER NOT NULL REFERENCES data_uploads (id),
  position INTEGER NOT NULL,
  sha256 TEXT NOT NULL REFERENCES data_documents (sha256),
  hidden INTEGER NOT NULL,
  tier TEXT CHECK (tier IN ('gold', 'silver', 'experimental')),
  bpb REAL,
  overlap REAL,
  sampled INTEGER NOT NULL DEFAULT 0,
  settled TEXT CHECK (settled IN ('keep', 'drop')),
  PRIMARY KEY (upload, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS data_upload_docs_by_doc ON data_upload_docs (sha256);
CREATE TABLE IF NOT EXISTS data_votes (
  id INTEGER PRIMARY KEY,
  upload INTEGER NOT NULL REFERENCES data_uploads (id),
  doc TEXT NOT NULL,
  account TEXT NOT NULL,
  signer TEXT NOT NULL,
  keep INTEGER NOT NULL,
  nonce TEXT NOT NULL UNIQUE,
  sig TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  UNIQUE (upload, doc, account)
);
`;

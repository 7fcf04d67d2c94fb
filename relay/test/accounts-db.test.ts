import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccountsDb } from '../src/accounts/db.ts';
import { SqliteContributionStore } from '../src/contributions/sqlite-store.ts';
import { Journal } from '../src/rewards/journal.ts';
import { tempDir } from './helpers.ts';

/** The contributions table of accounts schema 1, as relays wrote it before seeded evaluation. */
const SCHEMA_1_CONTRIBUTIONS = `
CREATE TABLE contributions (
  id INTEGER PRIMARY KEY, account TEXT NOT NULL, signer TEXT NOT NULL, slot TEXT NOT NULL, meta TEXT NOT NULL,
  base TEXT NOT NULL, block TEXT NOT NULL, header TEXT NOT NULL, delta BLOB NOT NULL, raw_bytes INTEGER NOT NULL,
  delta_norm REAL NOT NULL, status TEXT NOT NULL CHECK (status IN ('queued', 'appending', 'accepted', 'rejected')),
  reason TEXT, detail TEXT, baseline REAL, candidate REAL, improvement REAL, eval_tokens INTEGER, eval_ms REAL,
  credit INTEGER, created_at INTEGER NOT NULL, decided_at INTEGER
);
INSERT INTO contributions (account, signer, slot, meta, base, block, header, delta, raw_bytes, delta_norm, status, credit, created_at, decided_at)
VALUES ('0xa', '0xa', 'layer0.expert0', 'm', 'b', 'c1', '{}', x'00', 4, 1, 'accepted', 7, 1, 2),
       ('0xa', '0xa', 'layer0.expert0', 'm', 'b', 'c2', '{}', x'00', 4, 1, 'queued', NULL, 3, NULL);
CREATE TABLE ledger_accounts (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE journal (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, memo TEXT NOT NULL, UNIQUE (kind, ref));
CREATE TABLE postings (journal_id INTEGER NOT NULL REFERENCES journal (id), account TEXT NOT NULL REFERENCES ledger_accounts (name), amount INTEGER NOT NULL CHECK (amount <> 0));
PRAGMA user_version = 1;
`;

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('accounts schema 1 to 7', async () => {
  it('keeps decided contributions, closes waiting ones as evaluation_failed, adds assignments, the data hub, usage pool and rounds tables with their dataset and claim columns', async () => {
    const path = join(dir, 'accounts.sqlite');
    const old = new Database(path);
    old.exec(SCHEMA_1_CONTRIBUTIONS);
    old.close();
    const db = openAccountsDb(path);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(7);
      const store = new SqliteContributionStore(db, new Journal(db, Date.now));
      expect(await store.get(1)).toMatchObject({ status: 'accepted', credit: 7, verdict: null });
      expect(await store.get(2)).toMatchObject({ status: 'rejected', reason: 'evaluation_failed', detail: expect.stringContaining('submit it again') });
      expect(await store.pendingIds()).toEqual([]);
      expect(db.prepare('SELECT COUNT(*) AS n FROM assignments').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT COUNT(*) AS n FROM data_uploads').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT (SELECT COUNT(*) FROM usage_counts) + (SELECT COUNT(*) FROM usage_periods) AS n').get()).toEqual({ n: 0 });
      for (const table of ['rounds', 'round_deltas', 'round_momentum']) expect(db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT COUNT(*) AS n FROM rounds WHERE dataset IS NULL AND genesis_bound IS NULL AND uploaders IS NULL').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT COUNT(*) AS n FROM rounds WHERE seats > 0 AND issued = 0 AND filled = 0 AND claimed_until = 0 AND claimed_by IS NULL').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });

  it('counts the units and deltas of rounds opened before schema 7 into their rows, unclaimed', () => {
    const path = join(dir, 'rounds6.sqlite');
    const db6 = openAccountsDb(path);
    db6.exec("INSERT INTO rounds (id, slot, meta, base, steps, status, seed, commitment, opened_at) VALUES (1, 's', 'm', 'b', 16, 'open', 'x', 'y', 0)");
    db6.exec("INSERT INTO round_deltas (round, account, shard, issued_at, status) VALUES (1, 'a', 0, 0, 'assigned'), (1, 'b', 1, 0, 'assigned')");
    db6.exec("UPDATE round_deltas SET delta = x'01', payload_hash = 'h', submitted_at = 1, status = 'submitted' WHERE account = 'b'");
    for (const column of ['seats', 'issued', 'filled', 'claimed_until', 'claimed_by']) db6.exec(`ALTER TABLE rounds DROP COLUMN ${column}`);
    db6.pragma('user_version = 6');
    db6.close();
    const db = openAccountsDb(path);
    try {
      expect(db.prepare('SELECT seats, issued, filled, claimed_until, claimed_by FROM rounds WHERE id = 1').get()).toEqual({ seats: 8, issued: 2, filled: 1, claimed_until: 0, claimed_by: null });
    } finally {
      db.close();
    }
  });
});

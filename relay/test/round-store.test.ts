import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { Address, Hash } from '@blyan/block';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccountsDb } from '../src/accounts/db.ts';
import { freshSample } from '../src/contributions/sample.ts';
import { Journal, type JournalEntry } from '../src/rewards/journal.ts';
import { PgRoundStore } from '../src/rounds/pg-store.ts';
import { type Claim, type Decision, type RoundStore, SqliteRoundStore } from '../src/rounds/store.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { type TestBackend, currentBackend, testBackend } from './backends.ts';
import { tempDir } from './helpers.ts';

const hash = (n: number): Hash => n.toString(16).padStart(64, '0') as Hash;
const who = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;

let dir: string;
let backend: TestBackend;
let db: Database.Database | undefined;
let pool: pg.Pool | undefined;
let store: RoundStore;
beforeAll(async () => {
  dir = await tempDir();
  backend = await testBackend();
  if (backend.backends.database === undefined) {
    db = openAccountsDb(join(dir, 'accounts.sqlite'));
    store = new SqliteRoundStore(db, new Journal(db, () => 0));
  } else {
    pool = await openPgPool(backend.backends.database, 4);
    store = new PgRoundStore(pool);
  }
});
afterAll(async () => {
  db?.close();
  await pool?.end();
  await backend.drop();
  await rm(dir, { recursive: true, force: true });
});

let opened = 0;
/** Opens a round on `slot` with `seats` units, opened at `at`. */
const open = (slot: string, seats = 2, at = 0) => {
  const { seed, commitment } = freshSample();
  return store.open({ slot, meta: hash(1), base: hash(2 + opened++), steps: 16, seats, seed, commitment, at, dataset: null, datasetHead: null });
};
const judge = (by: string, now: number): Claim => ({ by, now, leaseMs: 1000, openedBy: now - 60_000 });
const rejection = (reason: string): Decision => ({ accepted: false, reason, at: 1, block: null, header: null, payload: null, verdict: null, improvement: null, lower: null, pool: null, genesis: null, uploaders: [], outcomes: [], momentum: null });
const acceptance = (verdict: string): Decision => ({ ...rejection('x'), accepted: true, reason: null, block: hash(9), header: '{}', payload: Uint8Array.of(1), verdict, improvement: 0.01, lower: 0.001, pool: 10 });
const credit = (round: number, to: Address): JournalEntry => ({ kind: 'round', ref: String(round), memo: `round ${round}`, postings: [{ account: 'system:rewards', amount: -10 }, { account: `user:${to}`, amount: 10 }] });

describe(`RoundStore on ${currentBackend()}`, () => {
  it('returns the deltas of the slot’s own last rounds, however many other slots’ rounds lie between (copies caught across rounds)', async () => {
    const slots = ['layer0.expert0', 'layer0.expert1', 'layer1.expert0', 'layer1.expert1', 'layer2.expert0'];
    const rounds: { id: number; slot: string; unit: number }[] = [];
    for (let turn = 0; turn < 4; turn++) {
      for (const slot of slots) {
        const n = rounds.length;
        const id = await open(`recent.${slot}`, 2, n);
        const unit = (await store.issue(id, who(n + 1), n, () => 0))!.id;
        expect(await store.fill(id, unit, Uint8Array.of(n), hash(1000 + n), n)).toBe('stored');
        rounds.push({ id, slot: `recent.${slot}`, unit });
      }
    }
    const own = rounds.filter((r) => r.slot === 'recent.layer0.expert0');
    const last = own.at(-1)!;
    // The slot's two rounds before its last are 5 and 10 ids back: a window of round ids would miss them.
    expect((await store.recent(last.slot, last.id, 2)).map((d) => d.id)).toEqual(own.slice(-3, -1).map((r) => r.unit));
    expect((await store.recent(last.slot, last.id, 4)).map((d) => d.id)).toEqual(own.slice(0, -1).map((r) => r.unit));
    expect(await store.recent(last.slot, own[0]!.id, 4)).toEqual([]);
    // One of two seats filled is not full: none of these rounds is due before its time.
    expect(await store.claim({ ...judge('a', 100), openedBy: -1 })).toBeUndefined();
    expect(await store.lastSlot(hash(1), null)).toBe('recent.layer2.expert0');
    expect(await store.lastSlot(hash(1), 'mail')).toBeNull();
  });

  it('hands out a round’s seats once each, one unit per account, and fills a unit once', async () => {
    const id = await open('seats', 2, 1e9);
    const units = await Promise.all([who(1), who(2), who(3)].map((a) => store.issue(id, a, 1, (seat) => seat + 5)));
    expect(units.filter((u) => u !== undefined).map((u) => u!.shard).sort()).toEqual([5, 6]);
    expect((await store.round(id))!).toMatchObject({ issued: 2, filled: 0 });
    expect(await store.withRoom(hash(1), null)).not.toContainEqual(expect.objectContaining({ id }));
    const unit = units.find((u) => u !== undefined)!;
    const fills = await Promise.all([1, 2].map((n) => store.fill(id, unit.id, Uint8Array.of(n), hash(n), 2)));
    expect(fills.sort()).toEqual(['already_submitted', 'stored']);
    expect((await store.round(id))!.filled).toBe(1);
    expect((await store.deltas(id)).length).toBe(1);
  });

  it('lets one judge claim a full round; it then takes no delta, and is claimed again only once the claim runs out; the first verdict stands', async () => {
    const id = await open('claims', 2, 1e9);
    const [a, b, c] = [await store.issue(id, who(1), 1, () => 0), await store.issue(id, who(2), 1, () => 1), undefined];
    expect(c).toBeUndefined();
    expect(await store.fill(id, a!.id, Uint8Array.of(1), hash(1), 2)).toBe('stored');
    expect(await store.claim(judge('a', 10))).toBeUndefined();
    expect(await store.fill(id, b!.id, Uint8Array.of(2), hash(2), 3)).toBe('stored');
    const claims = await Promise.all([store.claim(judge('a', 10)), store.claim(judge('b', 10))]);
    expect(claims.filter((x) => x === id)).toHaveLength(1);
    expect(await store.claim(judge('c', 500))).toBeUndefined();
    expect(await store.issue(id, who(9), 20, () => 0)).toBeUndefined();
    // The judge died: past its lease another judge takes the round.
    expect(await store.claim(judge('c', 1011))).toBe(id);
    expect((await store.round(id))!.claimed_by).toBe('c');
    expect(await store.decide(id, acceptance('{"v":"c"}'))).toBe(true);
    expect(await store.decide(id, acceptance('{"v":"a"}'))).toBe(false);
    expect(await store.decide(id, rejection('late'))).toBe(false);
    expect((await store.round(id))!).toMatchObject({ status: 'appending', verdict: '{"v":"c"}' });
    expect(await Promise.all([store.pay(id, credit(id, who(1)), 5), store.pay(id, credit(id, who(1)), 5)])).toEqual(expect.arrayContaining([true, false]));
    expect((await store.round(id))!.status).toBe('accepted');
  });

  it('refuses a delta to a round once it is claimed, and claims a named round only when no live claim holds it', async () => {
    const id = await open('close', 3, 1e9);
    const unit = (await store.issue(id, who(1), 1, () => 0))!;
    expect(await store.claim(judge('a', 10), id)).toBe(id);
    expect(await store.claim(judge('b', 10), id)).toBeUndefined();
    expect(await store.fill(id, unit.id, Uint8Array.of(1), hash(1), 2)).toBe('round_closed');
    expect(await store.deltas(id)).toEqual([]);
    await store.release();
    expect(await store.claim(judge('b', 10))).toBe(id);
  });
});

describe.runIf(currentBackend() === 'postgres+s3')('the rounds’ rules as PostgreSQL constraints (what a buggy or hostile replica cannot write)', () => {
  const refused = (sql: string, params: unknown[] = []) => expect(pool!.query(sql, params)).rejects.toThrow();

  it('refuses a seed that does not match its commitment, and any change to a round’s seed or base', async () => {
    const { seed } = freshSample();
    await refused("INSERT INTO rounds (slot, meta, base, steps, seats, status, seed, commitment, opened_at) VALUES ('x', 'm', 'b', 1, 1, 'open', $1, $2, 0)", [seed, hash(7)]);
    const id = await open('rules.seed');
    await refused('UPDATE rounds SET seed = $1 WHERE id = $2', [freshSample().seed, id]);
    await refused("UPDATE rounds SET base = 'other' WHERE id = $1", [id]);
  });

  it('refuses a second delta in a unit, a unit or delta in a claimed round, and a deleted unit', async () => {
    const id = await open('rules.delta', 3, 1e9);
    const unit = (await store.issue(id, who(1), 1, () => 0))!;
    expect(await store.fill(id, unit.id, Uint8Array.of(1), hash(1), 2)).toBe('stored');
    await refused("UPDATE round_deltas SET delta = '\\x02', payload_hash = $1 WHERE id = $2", [hash(2), unit.id]);
    await refused('DELETE FROM round_deltas WHERE id = $1', [unit.id]);
    await refused("INSERT INTO round_deltas (round, account, shard, issued_at, status) VALUES ($1, $2, 0, 0, 'assigned')", [id, who(1)]);
    const other = (await store.issue(id, who(2), 1, () => 1))!;
    await store.claim(judge('a', 10), id);
    await refused("INSERT INTO round_deltas (round, account, shard, issued_at, status) VALUES ($1, $2, 0, 0, 'assigned')", [id, who(3)]);
    await refused("UPDATE round_deltas SET delta = '\\x03', payload_hash = $1, submitted_at = 1, status = 'submitted' WHERE id = $2", [hash(3), other.id]);
  });

  it('refuses replacing a verdict, changing a decided round, and paying a round twice', async () => {
    const id = await open('rules.verdict', 1, 1e9);
    await store.claim(judge('a', 10), id);
    expect(await store.decide(id, acceptance('{"v":1}'))).toBe(true);
    await refused(`UPDATE rounds SET verdict = '{"v":2}' WHERE id = $1`, [id]);
    await refused("UPDATE rounds SET status = 'open', decided_at = NULL WHERE id = $1", [id]);
    expect(await store.pay(id, credit(id, who(1)), 5)).toBe(true);
    await refused("UPDATE rounds SET status = 'rejected' WHERE id = $1", [id]);
    await refused("INSERT INTO journal (at, kind, ref, memo) VALUES (0, 'round', $1, 'again')", [String(id)]);
    expect(await store.pay(id, credit(id, who(1)), 5)).toBe(false);
  });
});

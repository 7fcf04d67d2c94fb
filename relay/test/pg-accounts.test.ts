import type { Address } from '@blyan/block';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PgAuthStore } from '../src/auth/pg-auth-store.ts';
import { PgContributionStore } from '../src/contributions/pg-store.ts';
import { REWARDS_ACCOUNT, userAccount } from '../src/rewards/journal.ts';
import { PgJournal } from '../src/rewards/pg-journal.ts';
import { PgKeyLimiter, PgRateStore } from '../src/server/pg-rate-store.ts';
import { inTransaction, openPgPool } from '../src/store/pg-pool.ts';
import { testBackend } from './backends.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** `n` pools on one fresh database, as `n` replicas hold them. */
async function replicaPools(n: number): Promise<pg.Pool[]> {
  const b = await testBackend('postgres+s3');
  cleanup.push(() => b.drop());
  const pools = await Promise.all(Array.from({ length: n }, () => openPgPool(b.backends.database!)));
  cleanup.push(async () => {
    for (const p of pools) await p.end();
  });
  return pools;
}

const now = () => Date.now();
const ACCOUNT = '0x00000000000000000000000000000000000000aa' as Address;
const KEY = '0x00000000000000000000000000000000000000bb' as Address;
const delegation = { account: ACCOUNT, sessionKey: KEY, issuedAt: Date.now(), expiresAt: Date.now() + 60_000 };

describe('PgAuthStore shared by replicas', () => {
  it('lets exactly one of many replicas racing to use a nonce have it', async () => {
    const stores = (await replicaPools(4)).map((p) => new PgAuthStore(p, now));
    const { nonce } = await stores[0]!.issueNonce(60_000);
    const uses = await Promise.all(stores.flatMap((s) => [s.useNonce(nonce), s.useNonce(nonce)]));
    expect(uses.filter((u) => u === 'ok')).toHaveLength(1);
    expect(uses.filter((u) => u === 'unknown_nonce')).toHaveLength(7);
  });

  it('opens one session for one session key however many replicas race to', async () => {
    const stores = (await replicaPools(4)).map((p) => new PgAuthStore(p, now));
    const tokens = await Promise.all(stores.flatMap((s) => [s.openSession(delegation, 'm', 's'), s.openSession(delegation, 'm', 's')]));
    const opened = tokens.filter((t) => t !== null);
    expect(opened).toHaveLength(1);
    for (const s of stores) {
      expect(await s.session(opened[0]!)).toMatchObject({ account: ACCOUNT, sessionKey: KEY });
      expect(await s.isDelegate(ACCOUNT, KEY)).toBe(true);
    }
    expect(await stores[1]!.revoke(opened[0]!)).toBe(true);
    expect(await stores[2]!.isDelegate(ACCOUNT, KEY)).toBe(false);
    expect(await stores[3]!.session(opened[0]!)).toBeUndefined();
  });

  it('keeps at most maxNonces unused nonces, evicting the oldest', async () => {
    const [pool] = await replicaPools(1);
    const store = new PgAuthStore(pool!, now, 5);
    const issued = [];
    for (let i = 0; i < 8; i++) issued.push((await store.issueNonce(60_000 + i)).nonce);
    expect(Number((await pool!.query('SELECT count(*) AS n FROM nonces')).rows[0].n)).toBe(5);
    expect(await store.useNonce(issued[0]!)).toBe('unknown_nonce');
    expect(await store.useNonce(issued[7]!)).toBe('ok');
  });
});

describe('PgRateStore shared by replicas', () => {
  it('counts one window for a key across replicas, exactly, under concurrent hits', async () => {
    const stores = (await replicaPools(3)).map((p) => {
      const s = new PgRateStore(p);
      s.init({ windowMs: 60_000 });
      return s;
    });
    const hits = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.increment('nonce:127.0.0.1')));
    expect(hits.map((h) => h.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await stores[0]!.increment('nonce:10.0.0.1')).totalHits).toBe(1);
  });

  it('gives an account its submissions once across replicas (PgKeyLimiter), then says when to retry', async () => {
    const limiters = (await replicaPools(2)).map((p) => new PgKeyLimiter(p, 3, 60_000, 'account'));
    const takes = await Promise.all(Array.from({ length: 6 }, (_, i) => limiters[i % 2]!.take(ACCOUNT)));
    expect(takes.filter((t) => t.ok)).toHaveLength(3);
    for (const t of takes.filter((x) => !x.ok)) expect(t).toMatchObject({ ok: false, retryAfterMs: expect.any(Number) });
    expect(takes.every((t) => t.ok || (t.retryAfterMs > 0 && t.retryAfterMs <= 60_000))).toBe(true);
    expect(await limiters[1]!.take(KEY)).toEqual({ ok: true });
  });

  it('starts a new window once the old one has passed', async () => {
    const [pool] = await replicaPools(1);
    const store = new PgRateStore(pool!);
    store.init({ windowMs: 50 });
    await store.increment('k');
    expect((await store.increment('k')).totalHits).toBe(2);
    await new Promise((r) => setTimeout(r, 80));
    expect((await store.increment('k')).totalHits).toBe(1);
  });
});

const credit = (ref: string, who: Address, amount: number) => ({
  kind: 'contribution' as const,
  ref,
  memo: `test ${ref}`,
  postings: [
    { account: REWARDS_ACCOUNT, amount: -amount },
    { account: userAccount(who), amount },
  ],
});

describe('the rewards ledger on PostgreSQL: its rules are the database\'s', () => {
  it('refuses, at commit, an entry whose postings do not sum to 0 or that has one posting, whoever writes it', async () => {
    const [pool] = await replicaPools(1);
    const raw = (postings: [string, number][]) =>
      inTransaction(pool!, async (q) => {
        const { rows } = await q.query("INSERT INTO journal (at, kind, ref, memo) VALUES (1, 'contribution', $1, 'raw') RETURNING id", [`raw-${postings.length}-${postings[0]![1]}`]);
        for (const [account, amount] of postings) {
          await q.query('INSERT INTO ledger_accounts (name, created_at) VALUES ($1, 1) ON CONFLICT DO NOTHING', [account]);
          await q.query('INSERT INTO postings (journal_id, account, amount) VALUES ($1, $2, $3)', [rows[0].id, account, amount]);
        }
      });
    await expect(raw([[REWARDS_ACCOUNT, -5], [userAccount(ACCOUNT), 4]])).rejects.toThrow(/does not balance/);
    await expect(raw([[userAccount(ACCOUNT), 5]])).rejects.toThrow(/does not balance/);
    await expect(raw([])).rejects.toThrow();
    await expect(inTransaction(pool!, (q) => q.query("INSERT INTO journal (at, kind, ref, memo) VALUES (1, 'usage', 'empty', 'no postings')"))).rejects.toThrow(/does not balance/);
    expect(await new PgJournal(pool!).trialBalance()).toEqual({ total: 0, entries: 0, unbalanced: [] });
  });

  it('keeps written entries as written: no UPDATE or DELETE of journal or postings', async () => {
    const [pool] = await replicaPools(1);
    await inTransaction(pool!, (q) => PgJournal.post(q, credit('1', ACCOUNT, 7), 1));
    await expect(pool!.query('UPDATE postings SET amount = amount * 2')).rejects.toThrow(/append-only/);
    await expect(pool!.query('DELETE FROM postings')).rejects.toThrow(/append-only/);
    await expect(pool!.query("UPDATE journal SET memo = 'edited'")).rejects.toThrow(/append-only/);
    expect(await new PgJournal(pool!).balance(userAccount(ACCOUNT))).toBe(7);
  });

  it('under 4 replicas writing concurrently, pays each (kind, ref) once and balances to 0', async () => {
    const pools = await replicaPools(4);
    const refs = Array.from({ length: 25 }, (_, i) => String(i));
    const tries = pools.flatMap((p, r) => refs.map((ref) => inTransaction(p, (q) => PgJournal.post(q, credit(ref, ACCOUNT, 1 + Number(ref)), r)).then(() => 'ok', (e: Error) => e.message)));
    const outcomes = await Promise.all(tries);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(refs.length);
    expect(outcomes.filter((o) => o !== 'ok').every((m) => /duplicate key/.test(m))).toBe(true);
    const book = new PgJournal(pools[0]!);
    expect(await book.trialBalance()).toEqual({ total: 0, entries: refs.length, unbalanced: [] });
    expect(await book.balance(userAccount(ACCOUNT))).toBe(refs.reduce((s, r) => s + 1 + Number(r), 0));
    expect(await book.leaderboard(5)).toEqual([{ address: ACCOUNT, balance: refs.reduce((s, r) => s + 1 + Number(r), 0) }]);
  });
});

/** A queued contribution row, written as a replica's intake would (the worker's path is exercised end to end in the fault test). */
async function queued(pool: pg.Pool, n: number): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO contributions (account, signer, slot, shard, meta, base, block, payload_hash, header, delta, raw_bytes, delta_norm, status, created_at, seed, commitment)
     VALUES ($1, $1, 'layer0.expert0', 0, 'm', 'base', $2, $2, '{}', '\\x00', 1, 1, 'queued', 1, 's', 'c') RETURNING id`,
    [ACCOUNT, `block${n}`],
  );
  return rows[0]!.id;
}

const VERDICT = { v: 1 } as never;
const FIGURES = { baseline: 2, candidate: 1, improvement: 1, tokens: 10, ms: 1 };

describe('the contribution queue on PostgreSQL', () => {
  it('hands each waiting job to one of many workers claiming at once, and a job again once its lease has run out', async () => {
    const pools = await replicaPools(3);
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await queued(pools[0]!, i));
    const stores = pools.map((p) => new PgContributionStore(p));
    const t = 1_000;
    const claims = await Promise.all(Array.from({ length: 9 }, (_, i) => stores[i % 3]!.claim(`w${i}`, 5_000, t)));
    expect(claims.filter((c) => c !== undefined).sort((a, b) => a! - b!)).toEqual(ids);
    expect(await stores[0]!.claim('late', 5_000, t + 4_999)).toBeUndefined();
    const again = await Promise.all([stores[1]!.claim('a', 5_000, t + 5_000), stores[2]!.claim('b', 5_000, t + 5_000)]);
    expect(again).toEqual(expect.arrayContaining([ids[0], ids[1]]));
  });

  it('credits a contribution once however many workers finish it, and never replaces its verdict or reopens it', async () => {
    const pools = await replicaPools(3);
    const id = await queued(pools[0]!, 0);
    const stores = pools.map((p) => new PgContributionStore(p));
    await Promise.all(stores.map((s) => s.markAppending(id, FIGURES, VERDICT)));
    const paid = credit(String(id), ACCOUNT, 5);
    const accepts = await Promise.all(stores.map((s) => s.accept(id, { amount: 5, entry: paid }, 2).then(() => 'ok', (e: Error) => e.message)));
    expect(accepts.filter((a) => a === 'ok')).toHaveLength(1);
    expect(await new PgJournal(pools[0]!).balance(userAccount(ACCOUNT))).toBe(5);
    await stores[0]!.reject(id, 'no_improvement', 'late', 3);
    expect((await pools[1]!.query('SELECT status, credit FROM contributions WHERE id = $1', [id])).rows).toEqual([{ status: 'accepted', credit: 5 }]);
    await expect(pools[0]!.query(`UPDATE contributions SET verdict = '{"v":2}' WHERE id = $1`, [id])).rejects.toThrow(/already decided/);
    await expect(pools[0]!.query(`UPDATE contributions SET status = 'queued', decided_at = NULL, credit = NULL WHERE id = $1`, [id])).rejects.toThrow(/already decided/);
    await expect(pools[0]!.query('INSERT INTO journal (at, kind, ref, memo) VALUES (1, $1, $2, $3)', ['contribution', String(id), 'again'])).rejects.toThrow(/duplicate key/);
  });
});

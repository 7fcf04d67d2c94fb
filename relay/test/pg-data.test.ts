import type { Address, Hash } from '@blyan/block';
import { docHash, signature } from '@blyan/data';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDataStore } from '../src/data/pg-store.ts';
import type { NewDoc } from '../src/data/store.ts';
import { PgUsage } from '../src/rewards/usage-store.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { type TestBackend, testBackend } from './backends.ts';
import { newAccount } from './accounts-helpers.ts';
import { prose } from './data-helpers.ts';

/**
 * The data hub's and usage's rows on PostgreSQL as several processes see them: each "process" here
 * is its own pool and store on one database, as replicas and workers are.
 */
let backend: TestBackend;
let pools: pg.Pool[];
let stores: PgDataStore[];
const RULES = { votesToSettle: 2, maxDropShare: 0.5, creditPerVote: 10 };
const T = 1_800_000_000_000;

const newDoc = (seed: number): NewDoc => {
  const text = prose(seed, 8);
  return { sha256: docHash(text), text, bytes: text.length, signature: signature(text), hidden: false };
};
const account = () => newAccount().address.toLowerCase() as Address;

/** An upload of `n` documents, scored, its first two sampled: under review. */
async function inReview(n: number, seed: number): Promise<{ id: number; docs: NewDoc[] }> {
  const docs = Array.from({ length: n }, (_, i) => newDoc(seed + i));
  const id = await stores[0]!.addUpload({ name: 'tales', account: account(), source: 's', licence: 'CC0-1.0', rawBytes: 100, verdicts: [] }, docs, T);
  const scores = docs.map((_, position) => ({ position, tier: 'gold' as const, bpb: 6, overlap: 0 }));
  expect(await stores[1]!.fileScores(id, scores, [0, 1])).toBe(true);
  expect(await stores[0]!.fileScores(id, scores, [2])).toBe(false);
  return { id, docs };
}

const vote = (upload: number, doc: Hash, who: Address, keep = true) => ({ upload, doc, account: who, signer: who, keep, nonce: `n-${Math.random()}`, sig: `s-${Math.random()}` });

beforeAll(async () => {
  backend = await testBackend('postgres+s3');
  pools = await Promise.all([0, 1, 2].map(() => openPgPool(backend.backends.database!, 4)));
  stores = pools.map((p) => new PgDataStore(p));
});

afterAll(async () => {
  for (const p of pools ?? []) await p.end();
  await backend?.drop();
});

describe('the data hub on PostgreSQL, shared by processes', () => {
  it('one process at a time holds an upload: a claim skips a held one, a lapsed lease lets another take it, a release frees it at once', async () => {
    const { id } = await inReview(3, 10);
    await pools[0]!.query("UPDATE data_uploads SET status = 'appending' WHERE id = $1", [id]);
    const claims = await Promise.all(stores.map((s, i) => s.claim(undefined, `p${i}`, 1000, T)));
    expect(claims.filter((c) => c === id)).toHaveLength(1);
    expect(await stores[0]!.claim(id, 'p0', 1000, T + 999)).toBeUndefined();
    expect(await stores[1]!.claim(id, 'p1', 1000, T + 1000)).toBe(id);
    await stores[0]!.release(id, 'p0');
    expect(await stores[2]!.claim(id, 'p2', 1000, T + 1001)).toBeUndefined();
    await stores[1]!.release(id, 'p1');
    expect(await stores[2]!.claim(id, 'p2', 1000, T + 1001)).toBe(id);
    await stores[2]!.setStatus(id, 'failed', 'test', T);
    expect(await stores[0]!.claim(undefined, 'p0', 1000, T + 5000)).toBeUndefined();
  });

  it('votes on one document through several processes at once settle it once and credit each agreeing voter once', async () => {
    const { id, docs } = await inReview(4, 30);
    const voters = [account(), account(), account(), account()];
    const results = await Promise.all(voters.map((v, i) => stores[i % 3]!.castVote(vote(id, docs[0]!.sha256, v), RULES, T)));
    const counted = results.filter((r) => r.ok);
    expect(counted).toHaveLength(2);
    expect(counted.filter((r) => r.ok && r.settled === 'keep')).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.code)).toEqual(['settled', 'settled']);
    const credited = await pools[0]!.query<{ n: number }>("SELECT count(*)::int AS n FROM journal WHERE kind = 'review'");
    expect(credited.rows[0]!.n).toBe(2);
    const second = await Promise.all([stores[1]!.castVote(vote(id, docs[1]!.sha256, voters[0]!), RULES, T), stores[2]!.castVote(vote(id, docs[1]!.sha256, voters[1]!), RULES, T)]);
    expect(second.map((r) => r.ok && r.upload).sort()).toEqual(['appending', 'review']);
    expect((await stores[0]!.get(id))!.status).toBe('appending');
  });

  it('the database refuses what code must never do: a second vote of an account on a document, a vote on a document outside its upload, a settled document changed, a decided upload reopened', async () => {
    const { id, docs } = await inReview(3, 50);
    const who = account();
    expect((await stores[0]!.castVote(vote(id, docs[0]!.sha256, who), RULES, T)).ok).toBe(true);
    const insert = (doc: string, nonce: string) =>
      pools[1]!.query('INSERT INTO data_votes (upload, doc, account, signer, keep, nonce, sig, at) VALUES ($1, $2, $3, $3, true, $4, $4, 0)', [id, doc, who, nonce]);
    await expect(insert(docs[0]!.sha256, 'again')).rejects.toThrow(/unique/);
    await expect(insert(newDoc(999).sha256, 'elsewhere')).rejects.toThrow(/foreign key/);
    await pools[0]!.query("UPDATE data_upload_docs SET settled = 'keep' WHERE upload = $1 AND position = 0", [id]);
    await expect(pools[0]!.query("UPDATE data_upload_docs SET settled = 'drop' WHERE upload = $1 AND position = 0", [id])).rejects.toThrow(/already settled/);
    await stores[0]!.setStatus(id, 'refused', 'test', T);
    await expect(stores[1]!.setStatus(id, 'appending', null, null)).rejects.toThrow(/already refused/);
  });

  it('intake runs one upload at a time across processes', async () => {
    const order: string[] = [];
    const task = (who: string) => async () => {
      order.push(`${who}+`);
      await new Promise((r) => setTimeout(r, 100));
      order.push(`${who}-`);
    };
    await Promise.all(stores.map((s, i) => s.serially(task(`p${i}`))));
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]!.replace('+', '-'));
  });
});

describe('usage on PostgreSQL, shared by processes', () => {
  it('reports through several processes count once per (period, account, block); a settlement pays each period once; no count enters a settled period', async () => {
    const usages = pools.map((p) => new PgUsage(p));
    const pool = { units: 1000, periodMs: 1000 };
    const [u1, u2, author] = [account(), account(), account()];
    const block = 'ab'.repeat(32) as Hash;
    const line = { slot: 'layer0.expert0', block, tokens: 5, author, counts: true };
    const report = (id: string, who: Address, at: number) => ({ id: id.repeat(64), account: who, at, tokens: 5, lines: [line] });
    const recorded = await Promise.all([usages[0]!.record(report('a', u1, 500), 0), usages[1]!.record(report('b', u2, 500), 0), usages[2]!.record(report('a', u1, 500), 0)]);
    expect(recorded.filter((r) => r === null)).toHaveLength(1);
    expect(recorded.filter((r) => r !== null).map((r) => r!.counted)).toEqual([[block], [block]]);
    const settled = await Promise.all(usages.map((u) => u.settle(pool, 1500)));
    expect(settled.flat()).toEqual([{ period: 0, paid: 1000 }]);
    const late = await usages[1]!.record(report('c', account(), 900), 0);
    expect(late).toEqual({ period: 1, counted: [block] });
    await expect(pools[0]!.query('INSERT INTO usage_counts (period, account, block, author) VALUES (0, $1, $2, $3)', [account(), block, author])).rejects.toThrow(/already settled/);
    await expect(pools[0]!.query('INSERT INTO usage_periods (period, settled_at, pool, paid) VALUES (0, 0, 1000, 0)')).rejects.toThrow(/unique|duplicate/);
    const entries = await pools[0]!.query<{ n: number }>("SELECT count(*)::int AS n FROM journal WHERE kind = 'usage'");
    expect(entries.rows[0]!.n).toBe(1);
  });
});

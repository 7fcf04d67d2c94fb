import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Address, Hash } from '@blyan/block';
import type { UploadView } from '@blyan/data';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayRules } from '../src/config.ts';
import { defaultAccountsConfig } from '../src/contributions/config.ts';
import { corpusDocs } from '../src/corpus.ts';
import { corpusCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { type LoggedIn, ORIGIN, clock, login, postJson, remote } from './accounts-helpers.ts';
import { prose, uploadBody, vote } from './data-helpers.ts';
import { EVALUATOR_KEY, type Fixture, TINY, authority, seededFixture, tempDir } from './helpers.ts';
import { type ServeProcess, startServe, startWorker, stopAll } from './serve-process.ts';

/**
 * The data hub and usage rewards on two `blyan serve` replicas sharing one PostgreSQL database and
 * one S3 prefix, with one `blyan worker` (the evaluator key's holder) scoring and appending
 * uploads: what one replica takes, the other lists, counts and settles as one relay.
 */
const children: ChildProcess[] = [];
const dirs: string[] = [];
let f: Fixture;
let db: pg.Pool;
let a: ServeProcess;
let b: ServeProcess;

const PERIOD_S = 3;

beforeAll(async () => {
  f = await seededFixture((dir, backends) => openRelay(dir, relayRules(1 << 20), defaultAccountsConfig(ORIGIN, corpusDocs), null, backends), corpusCheckpoint(TINY, 3, corpusDocs), Date.now() - 60_000, 1 << 20);
  const { database, objects } = f.backend.backends;
  db = await openPgPool(database!, 1);
  for (let i = 0; i < 3; i++) dirs.push(await tempDir());
  const shared = ['--database', database!, '--objects', objects!];
  const small = ['--review-sample', '2', '--review-votes', '2', '--usage-period', String(PERIOD_S)];
  [a, b] = (await Promise.all(dirs.slice(0, 2).map((d) => startServe(children, d, [...shared, ...small], f.backend.env)))) as [ServeProcess, ServeProcess];
  await startWorker(children, dirs[2]!, [...shared, '--lease', '30', '--poll-ms', '100', '--review-sample', '2'], { ...f.backend.env, BLYAN_EVALUATOR_KEY: EVALUATOR_KEY });
}, 120_000);

afterAll(async () => {
  await stopAll(children, dirs);
  await db?.end();
  await f?.close();
});

const json = async <T>(r: ServeProcess, path: string): Promise<T> => (await (await fetch(`${r.url}${path}`)).json()) as T;

async function until<T>(read: () => Promise<T>, done: (x: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const x = await read();
    if (done(x)) return x;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Votes keep on every document `who` is shown through replica `r` until none is left for them. */
async function reviewThrough(r: ServeProcess, who: LoggedIn): Promise<number> {
  let votes = 0;
  for (;;) {
    const res = await fetch(`${r.url}/v1/review`, { headers: { cookie: who.cookie } });
    if (res.status === 404) return votes;
    const item = (await res.json()) as { upload: number; doc: Hash };
    const cast = await postJson(remote(r.url), '/v1/votes', await vote(who, item.upload, item.doc, true), who.cookie);
    expect(cast.status).toBe(201);
    votes++;
  }
}

describe('the data hub on two replicas and a worker', () => {
  it('an upload taken by one replica is scored by the worker, listed by the other, reviewed through both, appended once, and its reviewers credited', async () => {
    clock.now = Date.now();
    const uploader = await login(remote(a.url));
    const [r1, r2] = [await login(remote(a.url)), await login(remote(b.url))];
    const taken = await fetch(`${a.url}/v1/datasets/tales/uploads?source=test%20fixture&licence=CC0-1.0`, {
      method: 'POST',
      body: uploadBody(Array.from({ length: 6 }, (_, i) => prose(500 + i, 8))),
      headers: { 'content-type': 'text/plain', cookie: uploader.cookie },
    });
    expect(taken.status).toBe(202);
    const { id } = (await taken.json()) as UploadView;
    const scored = await until(() => json<UploadView>(b, `/v1/uploads/${id}`), (u) => u.status !== 'scoring', 'L1 on the worker');
    expect(scored).toMatchObject({ status: 'review', uploader: uploader.account, sample: { size: 2, votes: 0 } });
    expect((await json<{ datasets: { name: string; pending: number }[] }>(b, '/v1/datasets')).datasets).toEqual([expect.objectContaining({ name: 'tales', pending: 1 })]);

    expect(await reviewThrough(a, r1)).toBe(2);
    const half = await json<UploadView>(b, `/v1/uploads/${id}`);
    expect(half).toMatchObject({ status: 'review', sample: { keep: 0, votes: 2 } });
    const [doc] = (await db.query<{ doc: Hash }>('SELECT doc FROM data_votes WHERE upload = $1 AND account = $2 LIMIT 1', [id, r1.account])).rows.map((x) => x.doc);
    const replayed = await postJson(remote(b.url), '/v1/votes', await vote(r1, id, doc!, true), r1.cookie);
    expect([replayed.status, ((await replayed.json()) as { error: { code: string } }).error.code]).toEqual([409, 'already_voted']);
    expect(await reviewThrough(b, r2)).toBe(2);

    const done = await until(() => json<UploadView>(a, `/v1/uploads/${id}`), (u) => u.status !== 'review' && u.status !== 'appending', 'the append on the worker');
    expect(done).toMatchObject({ status: 'accepted', sample: { size: 2, keep: 2, drop: 0, votes: 4 } });
    expect(done.blocks).toHaveLength(1);
    for (const r of [a, b]) {
      expect(await json<{ head: Hash; versions: number }>(r, '/v1/datasets/tales')).toMatchObject({ head: done.blocks[0]!.hash, versions: 1 });
      const page = await json<{ total: number; documents: unknown[] }>(r, '/v1/datasets/tales/documents');
      expect(page.total).toBe(6 - done.hidden);
      for (const who of [r1, r2]) expect((await json<{ balance: number }>(r, `/v1/accounts/${who.account}/history`)).balance).toBe(20);
    }
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM journal WHERE kind = 'review'");
    expect(Number(rows[0]!.n)).toBe(4);
  });
});

describe('usage rewards on two replicas', () => {
  it('a usage report through each replica in one period settle into one pool, paid once', async () => {
    const block = f.slots['layer1.expert2']!;
    const report = async (r: ServeProcess, who: LoggedIn) => {
      const text = JSON.stringify({ account: who.account, origin: ORIGIN, created_at: Date.now(), experts: [{ block, tokens: 50 }] });
      const res = await postJson(remote(r.url), '/v1/usage', { report: text, signature: await who.key.signMessage({ message: text }) }, who.cookie);
      return { status: res.status, body: (await res.json()) as { period: number; counted: Hash[] } };
    };
    clock.now = Date.now();
    const [u1, u2] = [await login(remote(a.url)), await login(remote(b.url))];
    const before = (await json<{ balance: number }>(a, `/v1/accounts/${authority}/history`)).balance;
    while (Date.now() % (PERIOD_S * 1000) > 1000) await sleep(50);
    const [ra, rb] = await Promise.all([report(a, u1), report(b, u2)]);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(ra.body.period).toBe(rb.body.period);
    expect([ra.body.counted, rb.body.counted]).toEqual([[block], [block]]);
    await sleep(PERIOD_S * 1000);
    const boards = await Promise.all([a, b].map((r) => json<{ trial_balance: { total: number; unbalanced: number[] } }>(r, '/v1/leaderboard')));
    for (const board of boards) expect(board.trial_balance).toMatchObject({ total: 0, unbalanced: [] });
    const history = await json<{ balance: number; entries: { kind: string; ref: string; amount: number }[] }>(b, `/v1/accounts/${authority as Address}/history`);
    expect(history.entries.filter((e) => e.kind === 'usage')).toEqual([expect.objectContaining({ ref: `period:${ra.body.period}`, amount: 10_000 })]);
    expect(history.balance - before).toBe(10_000);
    const settled = await db.query<{ paid: number }>('SELECT paid FROM usage_periods WHERE period = $1', [ra.body.period]);
    expect(settled.rows).toEqual([{ paid: 10_000 }]);
  });
});

import type { ChildProcess } from 'node:child_process';
import { type Block, type BlockHeader, type Hash, blockHash } from '@blyan/block';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verify } from '../src/cli/verify.ts';
import { relayRules } from '../src/config.ts';
import { defaultAccountsConfig } from '../src/contributions/config.ts';
import { corpusDocs } from '../src/corpus.ts';
import { corpusCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { ORIGIN, type LoggedIn, assignment, clock, contributionBody, login, nudgeOn, remote, submitContribution } from './accounts-helpers.ts';
import { EVALUATOR_KEY, type Fixture, TINY, seededFixture, tempDir } from './helpers.ts';
import { type DownloadTally, type ServeProcess, downloader, startServe, startWorker, stopAll } from './serve-process.ts';

/**
 * The replicated deployment under a crash: three `blyan serve` replicas and two `blyan worker`
 * processes on one PostgreSQL database and one S3 prefix; 30 downloaders and 5 contributors run
 * while one replica and one worker holding a job are killed -9.
 */
const children: ChildProcess[] = [];
const dirs: string[] = [];
let f: Fixture;
let db: pg.Pool;
let replicas: ServeProcess[];
let workers: { child: ChildProcess; name: string }[];

const LEASE_S = 3;

beforeAll(async () => {
  const config = defaultAccountsConfig(ORIGIN, corpusDocs);
  f = await seededFixture((dir, backends) => openRelay(dir, relayRules(1 << 20), config, null, backends), corpusCheckpoint(TINY, 3, corpusDocs), Date.now() - 60_000, 1 << 20);
  const { database, objects } = f.backend.backends;
  db = await openPgPool(database!, 2);
  for (let i = 0; i < 5; i++) dirs.push(await tempDir());
  const shared = ['--database', database!, '--objects', objects!];
  [replicas, workers] = await Promise.all([
    Promise.all(dirs.slice(0, 3).map((d) => startServe(children, d, shared, f.backend.env))),
    Promise.all(
      dirs.slice(3).map((d) => startWorker(children, d, [...shared, '--min-improvement', '0', '--lease', String(LEASE_S), '--poll-ms', '100'], { ...f.backend.env, BLYAN_EVALUATOR_KEY: EVALUATOR_KEY })),
    ),
  ]);
}, 120_000);

afterAll(async () => {
  await stopAll(children, dirs);
  await db?.end();
  await f?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const undecided = async () => Number((await db.query("SELECT count(*) AS n FROM contributions WHERE status IN ('queued', 'appending')")).rows[0].n);

it('loses nothing when a replica and a worker holding a job are killed -9: acknowledged blocks served by survivors, each contribution decided once, the ledger balanced, no wrong bytes', async () => {
  const payloads = new Map<Hash, Uint8Array>(f.genesis.map((b) => [blockHash(b.header), b.payload]));
  const served: Hash[] = [...payloads.keys()];
  const queued = new Map<number, Block>();
  const alive = new Set(replicas);
  const pick = () => [...alive][Math.floor(Math.random() * alive.size)]!;
  let stop = false;

  const fetchBlock = async (r: ServeProcess, hash: Hash): Promise<Block> => {
    const header: BlockHeader = (await (await fetch(`${r.url}/v1/blocks/${hash}`)).json()).header;
    return { header, payload: new Uint8Array(await (await fetch(`${r.url}/v1/blocks/${hash}/payload`)).arrayBuffer()) };
  };
  const decided = async (id: number) => {
    for (;;) {
      try {
        const v = await (await fetch(`${pick().url}/v1/contributions/${id}`)).json();
        if (v.status === 'accepted' || v.status === 'rejected') return v;
      } catch {
        // the replica died under this request
      }
      await sleep(100);
    }
  };
  const contributor = async (n: number) => {
    let who: LoggedIn | undefined;
    for (let seed = 1; !stop; seed++) {
      try {
        const r = pick();
        clock.now = Date.now();
        who ??= await login(remote(r.url));
        const a = await assignment(remote(r.url), who);
        const { base, delta } = nudgeOn(await fetchBlock(r, a.base), a.slot, 0.05, n * 1000 + seed);
        const { body, block } = await contributionBody(f, a.slot, base, delta, who.account, who.key, { shard: a.shard.index, createdAt: Date.now() });
        const res = await submitContribution(remote(pick().url), body, who.cookie);
        if (res.status === 429) await sleep(1000);
        if (res.status !== 202) continue;
        const { id } = await res.json();
        queued.set(id, block);
        const v = await decided(id);
        if (v.status === 'accepted') {
          payloads.set(blockHash(block.header), block.payload);
          served.push(blockHash(block.header));
        }
      } catch {
        // a replica died under this contributor: nothing it did not see acknowledged counts
      }
    }
  };
  const tally: DownloadTally = { downloads: 0, wrong: 0 };
  const next = () => served[Math.floor(Math.random() * served.length)]!;
  const clients = [
    ...Array.from({ length: 5 }, (_, i) => contributor(i + 1)),
    ...Array.from({ length: 30 }, () => downloader(tally, () => !stop, pick, next, (h) => payloads.get(h)!)),
  ];

  const [victim, survivor] = workers as [(typeof workers)[0], (typeof workers)[0]];
  let held: number | undefined;
  while (held === undefined) {
    const claimed = await db.query<{ id: number }>("SELECT id FROM contributions WHERE claimed_by = $1 AND status IN ('queued', 'appending')", [victim.name]);
    held = claimed.rows[0]?.id;
    if (held === undefined) await sleep(20);
  }
  victim.child.kill('SIGKILL');
  const killedReplica = replicas[0]!;
  alive.delete(killedReplica);
  killedReplica.child.kill('SIGKILL');
  const atKill = queued.size;
  while (queued.size < atKill + 5) await sleep(100);
  stop = true;
  await Promise.all(clients);
  for (let t = 0; (await undecided()) > 0 && t < 300; t++) await sleep(100);

  expect(await undecided()).toBe(0);
  expect(tally.wrong).toBe(0);
  expect(tally.downloads).toBeGreaterThan(0);
  const rows = (await db.query('SELECT id, status, reason, verdict, credit, claimed_by FROM contributions ORDER BY id')).rows;
  expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([...queued.keys()]));
  expect(rows.find((r) => r.id === held)).toMatchObject({ claimed_by: survivor.name });
  for (const r of rows) {
    expect(['accepted', 'rejected']).toContain(r.status);
    if (r.status === 'accepted' || r.reason === 'no_improvement') expect(r.verdict).not.toBeNull();
  }
  const accepted = rows.filter((r) => r.status === 'accepted');
  const entries = (await db.query("SELECT ref, count(*) AS n FROM journal WHERE kind = 'contribution' GROUP BY ref")).rows;
  expect(entries.map((e) => [Number(e.ref), Number(e.n)]).sort((a, b) => a[0]! - b[0]!)).toEqual(accepted.map((r) => [r.id, 1]));
  const credits = accepted.reduce((s, r) => s + Number(r.credit), 0);
  for (const r of alive) {
    const board = await (await fetch(`${r.url}/v1/leaderboard?limit=100`)).json();
    expect(board.trial_balance).toMatchObject({ total: 0, unbalanced: [] });
    expect(board.leaders.reduce((s: number, l: { balance: number }) => s + l.balance, 0)).toBe(credits);
    for (const block of accepted.map((c) => queued.get(c.id)).filter((b) => b !== undefined)) {
      const got = new Uint8Array(await (await fetch(`${r.url}/v1/blocks/${blockHash(block.header)}/payload`)).arrayBuffer());
      expect(Buffer.from(got).equals(block.payload)).toBe(true);
    }
  }
}, 120_000);

it('replays the whole shared chain in blyan verify, session-signed contributions proven by the logins in the database', async () => {
  const lines: string[] = [];
  const { database, objects } = f.backend.backends;
  const dir = await tempDir();
  dirs.push(dir);
  expect(await verify(['--store', dir, '--database', database!, '--objects', objects!], (l) => lines.push(l))).toBe(0);
  expect(lines.join('\n')).toMatch(/OK: every block re-validates/);
  const sessionSigned = await db.query("SELECT count(*) AS n FROM contributions WHERE status = 'accepted' AND signer <> account");
  expect(Number(sessionSigned.rows[0].n)).toBeGreaterThan(0);
});

it('refuses what would split state between replicas: a shared database without a shared bucket', async () => {
  const dir = await tempDir();
  dirs.push(dir);
  await expect(openRelay(dir, relayRules(), undefined, null, { database: f.backend.backends.database! })).rejects.toThrow(/--objects/);
});

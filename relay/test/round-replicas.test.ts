import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { blockHash } from '@blyan/block';
import { parseVerdict } from '@blyan/chain';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { relayRules } from '../src/config.ts';
import { DEFAULT_ROUNDS } from '../src/rounds/config.ts';
import type { WorkUnit } from '../src/rounds/rounds.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { type WorkerProcess, openWorkerProcess } from '../src/worker-process.ts';
import { type Relay, openRelay } from '../src/relay.ts';
import { createApp } from '../src/server/app.ts';
import { type AccountsFixture, type LoggedIn, type Requester, accountsFixture, clock, login } from './accounts-helpers.ts';
import { acceptedDataset, prose, testDataConfig } from './data-helpers.ts';
import { EVALUATOR_KEY, UNLIMITED, evaluatorAccount, tempDir } from './helpers.ts';
import { honestDelta, shardDelta } from './round-helpers.ts';
import { startWorker } from './serve-process.ts';

/**
 * Rounds on two relay replicas sharing one PostgreSQL database and one bucket (two Relays with their
 * own pools, apps and in-memory state, in this process so they can take the tiny model's large
 * test deltas): units handed out by either count toward one round, deltas reach either, and a judge
 * elsewhere (a worker) claims the full round; a `blyan worker` process killed -9 while judging
 * leaves the round to another; a round on a chain-D dataset is handed out, served and judged the
 * same way from the shared data store.
 */
const SEATS = 3;
const LEASE_S = 2;
/** Judging as rounds.test.ts does on the tiny model (production's outer lr 0.05 moves it too little to show an accepted block). */
const ROUNDS = { ...DEFAULT_ROUNDS, contributors: SEATS, windows: 64, scoreWindows: 64, outer: { lr: 1, momentum: 0.9 }, screen: { ...DEFAULT_ROUNDS.screen, own: { confidence: 0.95, margin: 0 } } };
const children: ChildProcess[] = [];
const dirs: string[] = [];
let f: AccountsFixture;
let db: pg.Pool;
let second: Relay;
let replicas: Requester[];

beforeAll(async () => {
  f = await accountsFixture({ maxRelativeNorm: 10, rounds: ROUNDS, data: testDataConfig({ hiddenFraction: 0.25 }) });
  db = await openPgPool(f.backend.backends.database!, 2);
  for (let i = 0; i < 3; i++) dirs.push(await tempDir());
  second = await openRelay(dirs[0]!, relayRules(1 << 20), f.relay.accounts.config, null, f.backend.backends);
  replicas = [f.app, createApp({ ...second, maxPayloadBytes: 1 << 20, limits: UNLIMITED })];
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await db?.end();
  await second?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await f?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = async (id: number) => (await db.query('SELECT * FROM rounds WHERE id = $1', [id])).rows[0];

/**
 * SEATS contributors signed in on replicas A and B in turn, each with a unit (GET /v1/rounds/unit
 * with `query`); all in one round, filled with the deltas `delta` makes (honest ones on the meta
 * block's train split by default), each sent to the other replica than the one that handed out its unit.
 */
async function fill(query = '', delta: (unit: WorkUnit, other: Requester) => Promise<Uint8Array> = (unit) => honestDelta(f, unit)): Promise<{ round: number; slot: string }> {
  const team: { who: LoggedIn; unit: WorkUnit }[] = [];
  clock.now = Date.now();
  for (let i = 0; i < SEATS; i++) {
    const r = replicas[i % 2]!;
    const who = await login(r);
    const res = await r.request(`/v1/rounds/unit${query}`, { headers: { cookie: who.cookie } });
    expect(res.status, await res.clone().text()).toBe(200);
    team.push({ who, unit: (await res.json()) as WorkUnit });
  }
  const id = team[0]!.unit.round;
  expect(team.map((t) => t.unit.round)).toEqual(team.map(() => id));
  expect(new Set(team.map((t) => t.unit.shard.index)).size).toBe(SEATS);
  for (const [i, t] of team.entries()) {
    const other = replicas[(i + 1) % 2]!;
    const res = await other.request(`/v1/rounds/${id}/deltas`, { method: 'POST', body: (await delta(t.unit, other)) as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream', cookie: t.who.cookie } });
    expect(res.status, await res.clone().text()).toBe(202);
  }
  expect(await round(id)).toMatchObject({ status: 'open', issued: SEATS, filled: SEATS });
  return { round: id, slot: team[0]!.unit.slot };
}

/** Every replica shows the round decided once, its block (if accepted) as the slot's head with the same bytes, and a balanced ledger paying exactly the pool. */
async function decidedOnce(id: number): Promise<void> {
  const row = await round(id);
  expect(['accepted', 'rejected']).toContain(row.status);
  const entries = (await db.query("SELECT count(*)::int AS n FROM journal WHERE kind = 'round' AND ref = $1", [String(id)])).rows[0].n;
  expect(entries).toBe(row.status === 'accepted' ? 1 : 0);
  for (const r of replicas) {
    const view = await (await r.request(`/v1/rounds/${id}`)).json();
    expect(view).toMatchObject({ status: row.status, block: row.block, credit: row.pool });
    const board = await (await r.request('/v1/leaderboard?limit=100')).json();
    expect(board.trial_balance).toMatchObject({ total: 0, unbalanced: [] });
    if (row.status !== 'accepted') continue;
    expect(parseVerdict(view.verdict)).toMatchObject({ accepted: true, block: row.block, sample: { seed: row.seed, commitment: row.commitment } });
    expect((await (await r.request('/v1/params')).json()).slots[row.slot]).toBe(row.block);
    const header = JSON.parse(row.header);
    expect(blockHash(header)).toBe(row.block);
    const bytes = Buffer.from(await (await r.request(`/v1/blocks/${row.block}/payload`)).arrayBuffer());
    expect(bytes.equals(row.payload)).toBe(true);
    const paid = view.deltas.reduce((s: number, d: { credit: number | null }) => s + (d.credit ?? 0), 0);
    const uploaders = view.uploaders.reduce((s: number, u: { credit: number }) => s + u.credit, 0);
    expect(paid + uploaders).toBe(row.pool);
  }
}

/** An evaluation worker (openWorkerProcess, as `blyan worker` runs it) named `name`, its queue run until round `id` is decided; closed after. */
async function judgedByWorker(id: number, name: string): Promise<WorkerProcess> {
  const w = await openWorkerProcess(dirs[1]!, { database: f.backend.backends.database!, objects: f.backend.backends.objects! }, relayRules(1 << 20), f.relay.accounts.config, evaluatorAccount, { name, leaseMs: 60_000, pollMs: 50 });
  const stop = new AbortController();
  const running = w.queue.run(stop.signal);
  while ((await round(id)).status === 'open' || (await round(id)).status === 'appending') await sleep(100);
  stop.abort();
  await running;
  await w.close();
  return w;
}

it('counts units from both replicas toward one round, takes deltas at either, and one judge appends one block that all serve, the ledger balanced', async () => {
  const { round: id } = await fill();
  const w = await judgedByWorker(id, 'test-judge');
  expect(await round(id)).toMatchObject({ status: 'accepted', claimed_by: 'test-judge' });
  expect(w.queue.rounds).toBe(1);
  await decidedOnce(id);
}, 90_000);

it('leaves a round whose judge was killed -9 mid-judge to another worker, which decides it once', async () => {
  const { round: id } = await fill();
  const { database, objects } = f.backend.backends;
  const args = ['--database', database!, '--objects', objects!, '--lease', String(LEASE_S), '--poll-ms', '50'];
  const env = { ...f.backend.env, BLYAN_EVALUATOR_KEY: EVALUATOR_KEY };
  const victim = await startWorker(children, dirs[2]!, args, env);
  while ((await round(id)).claimed_by !== victim.name) await sleep(20);
  victim.child.kill('SIGKILL');
  await new Promise((r) => victim.child.once('exit', r));
  expect(await round(id)).toMatchObject({ status: 'open', verdict: null, claimed_by: victim.name });
  const survivor = await startWorker(children, dirs[1]!, args, env);
  while (['open', 'appending'].includes((await round(id)).status)) await sleep(100);
  expect((await round(id)).claimed_by).toBe(survivor.name);
  await decidedOnce(id);
  // The survivor leaves the queue to the tests after this one.
  survivor.child.kill('SIGTERM');
  await new Promise((r) => survivor.child.once('exit', r));
}, 90_000);

it('hands out units of a round on a chain-D dataset from both replicas and serves its shards from either; a worker judges it on the shared data store: accepted once, the uploader and the contributors credited once', async () => {
  clock.now = Date.now();
  const uploader = await login(f.app);
  await acceptedDataset(f, uploader, Array.from({ length: 40 }, (_, i) => prose(500 + i, 8)));
  // Each unit's shard is fetched from the other replica (the one its delta goes to), with the bytes the unit names.
  const { round: id } = await fill('?dataset=tales', async (unit, other) => {
    expect(unit).toMatchObject({ dataset: 'tales', shard: { split: 'public', url: expect.stringMatching(new RegExp(`^/v1/datasets/tales/versions/[0-9a-f]{64}/shards/${unit.shard.index}$`)) } });
    const body = new Uint8Array(await (await other.request(unit.shard.url)).arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(unit.shard.sha256);
    return shardDelta(f.relay, unit, (JSON.parse(new TextDecoder().decode(body)) as { docs: { text: string }[] }).docs.map((d) => d.text));
  });
  expect(await round(id)).toMatchObject({ dataset: 'tales' });

  const w = await judgedByWorker(id, 'test-dataset-judge');
  const row = await round(id);
  expect(row, row.reason).toMatchObject({ status: 'accepted', claimed_by: 'test-dataset-judge', dataset: 'tales' });
  expect(w.queue.rounds).toBe(1);
  await decidedOnce(id);
  const view = await (await f.app.request(`/v1/rounds/${id}`)).json();
  expect(view.uploaders).toEqual([{ account: uploader.account, credit: Math.round(row.pool * ROUNDS.dataset.uploaderShare) }]);
  const owed = [[uploader.account, view.uploaders[0].credit], ...view.deltas.map((d: { account: string; credit: number }) => [d.account, d.credit])] as [string, number][];
  expect(owed.filter(([, credit]) => credit > 0).length).toBeGreaterThan(1);
  for (const r of replicas) {
    for (const [account, credit] of owed) {
      const history = await (await r.request(`/v1/accounts/${account}/history`)).json();
      expect(history.balance).toBe(credit);
      expect(history.entries.filter((e: { kind: string; ref: string }) => e.kind === 'round' && e.ref === String(id))).toHaveLength(credit > 0 ? 1 : 0);
    }
  }
}, 120_000);

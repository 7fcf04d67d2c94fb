import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { type Address, type Block, type Signer, blockHash, buildBlock, encodeBlock } from '@blyan/block';
import { type ExpertDelta, encodeDelta, expertCandidate, sparsifyDelta } from '@blyan/delta';
import { slotParams, slotPlan } from '@blyan/model/blocks';
import type { Assignment } from '@blyan/client';
import type { Hono } from 'hono';
import { SiweMessage } from 'siwe';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { relayRules } from '../src/config.ts';
import { type AccountsConfig, defaultAccountsConfig } from '../src/contributions/config.ts';
import { evalSecretPath } from '../src/contributions/eval-secret.ts';
import { corpusDocs } from '../src/corpus.ts';
import { corpusCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import type { Backends } from '../src/store/open.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { createApp } from '../src/server/app.ts';
import { openWorkerProcess } from '../src/worker-process.ts';
import { type Fixture, TINY, UNLIMITED, evaluatorAccount, seededFixture } from './helpers.ts';

export const ORIGIN = 'http://localhost:5173';
export const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A settable clock for expiry tests. */
export const clock = { now: T0 };

export interface AccountsFixture extends Fixture {
  /**
   * Resolves once every queued contribution and every due round is judged: by the relay itself
   * (embedded), or, on postgres+s3, by an evaluation worker holding `verdictSigner`
   * (openWorkerProcess, as `blyan worker` runs it) taking from the shared queue every contribution,
   * then every round, it may claim now; it takes jobs only inside this call, so between calls
   * contributions stay queued and rounds open.
   */
  judged(): Promise<void>;
}

/** How long a job the fixture's evaluation worker claims is its own; the fixture's clock moves past it to let another take a job. */
export const LEASE_MS = 60_000;

/**
 * A relay on the tiny corpus genesis, on this test project's back-end, signing verdicts with
 * `verdictSigner` (the evaluator the genesis names, by default): itself when embedded, through an
 * evaluation worker on postgres+s3, where replicas only queue. `prepare` writes into its store folder
 * or its back-ends before it opens (fixedEvalSecret, say).
 */
export async function accountsFixture(
  overrides: Partial<AccountsConfig> = {},
  verdictSigner: Signer | null = evaluatorAccount,
  prepare?: (dir: string, backends: Backends) => Promise<void>,
): Promise<AccountsFixture> {
  clock.now = T0;
  const config: AccountsConfig = {
    ...defaultAccountsConfig(ORIGIN, corpusDocs),
    minImprovement: 1e-4,
    eval: { windows: 16, perBatch: 8, threads: 1, poolFraction: 0.5 },
    now: () => clock.now,
    ...overrides,
  };
  const open = async (dir: string, backends: Backends) => {
    await prepare?.(dir, backends);
    return openRelay(dir, relayRules(1 << 20), config, verdictSigner, backends);
  };
  const f = await seededFixture(open, corpusCheckpoint(TINY, 3, corpusDocs), T0, 1 << 20);
  const { database, objects } = f.backend.backends;
  const worker =
    database === undefined || objects === undefined || verdictSigner === null
      ? undefined
      : await openWorkerProcess(join(f.dir, 'worker'), { database, objects }, relayRules(1 << 20), config, verdictSigner, { name: 'test-worker', leaseMs: LEASE_MS, pollMs: 10 });
  const close = f.close;
  return Object.assign(f, {
    judged: async () => {
      if (worker === undefined) return f.relay.accounts.judging.drain();
      await worker.queue.judgeWaiting();
      while (await worker.queue.judgeRound());
    },
    async close() {
      await worker?.close();
      await close();
    },
  });
}

/**
 * Fixes the store's evaluation secret to SHA-256(`label`) before the relay opens, so what it keys
 * (held-out documents, the hidden pool) is the same every run: `<dir>/eval.secret` embedded, the
 * shared secret row on PostgreSQL (which the relay and workers then read instead of making one).
 */
export function fixedEvalSecret(label: string): (dir: string, backends: Backends) => Promise<void> {
  const secret = createHash('sha256').update(label).digest();
  return async (dir, { database }) => {
    if (database === undefined) return writeFile(evalSecretPath(dir), secret, { mode: 0o600 });
    const pool = await openPgPool(database, 1);
    try {
      await pool.query('INSERT INTO eval_secret (secret) VALUES ($1)', [secret]);
    } finally {
      await pool.end();
    }
  };
}

/** A client of the shared PostgreSQL database, its bigint counts read as numbers as SQLite gives them; ended after `use`. */
async function withPg<T>(database: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database, types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) } });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** SQLite's `?` placeholders as PostgreSQL's `$1, $2, …`. */
const pgPlaceholders = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/**
 * Runs `statements` on the accounts database of `f`'s back-end (accounts.sqlite, or the shared
 * PostgreSQL database with its triggers off): how a test forges the state a crash or a busy queue
 * leaves, which the relay's own writes (and PostgreSQL's guards) never make.
 */
export async function forge(f: AccountsFixture, statements: [sql: string, ...params: unknown[]][]): Promise<void> {
  const { database } = f.backend.backends;
  if (database === undefined) {
    for (const [sql, ...params] of statements) f.relay.accounts.db.prepare(sql).run(...params);
    return;
  }
  await withPg(database, async (c) => {
    await c.query('SET session_replication_role = replica');
    for (const [sql, ...params] of statements) await c.query(pgPlaceholders(sql), params);
  });
}

/** The first row of `sql` (read-only) on the accounts database of `f`'s back-end. */
export function accountsRow<T>(f: AccountsFixture, sql: string, ...params: unknown[]): Promise<T> {
  const { database } = f.backend.backends;
  if (database === undefined) return Promise.resolve(f.relay.accounts.db.prepare(sql).get(...params) as T);
  return withPg(database, async (c) => (await c.query(pgPlaceholders(sql), params)).rows[0] as T);
}

export const newAccount = () => privateKeyToAccount(generatePrivateKey());

export interface SiweFields {
  domain?: string;
  uri?: string;
  chainId?: number;
  issuedAt?: number;
  expiresAt?: number | null;
  sessionKey?: Address | null;
}

/** An EIP-4361 message for `wallet` delegating to `sessionKey`. */
export function siweMessage(wallet: Address, nonce: string, f: SiweFields = {}): string {
  const issuedAt = f.issuedAt ?? clock.now;
  const expiresAt = f.expiresAt === undefined ? issuedAt + 3600_000 : f.expiresAt;
  return new SiweMessage({
    domain: f.domain ?? 'localhost:5173',
    address: wallet,
    statement: 'Sign in to Blyan and let this tab sign contributions.',
    uri: f.uri ?? ORIGIN,
    version: '1',
    chainId: f.chainId ?? 1,
    nonce,
    issuedAt: new Date(issuedAt).toISOString(),
    ...(expiresAt !== null && { expirationTime: new Date(expiresAt).toISOString() }),
    ...(f.sessionKey !== null && f.sessionKey !== undefined && { resources: [`urn:blyan:session-key:${f.sessionKey}`] }),
  }).prepareMessage();
}

/** What the sign-in helpers send requests through: an app in this process, or a relay process (`remote`). */
export interface Requester {
  request(path: string, init?: RequestInit): Response | Promise<Response>;
}

/** A relay process at `url` as a Requester. */
export const remote = (url: string): Requester => ({ request: (path, init) => fetch(`${url}${path}`, init) });

export const postJson = (app: Requester, path: string, body: unknown, cookie?: string) =>
  app.request(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(cookie && { cookie }) } });

export async function nonce(app: Requester): Promise<string> {
  return ((await (await app.request('/v1/auth/nonce', { method: 'POST' })).json()) as { nonce: string }).nonce;
}

export interface LoggedIn {
  wallet: Signer;
  key: ReturnType<typeof newAccount>;
  account: Address;
  cookie: string;
}

/** Signs in a fresh wallet with a fresh session key; returns the session cookie. */
export async function login(app: Requester, f: SiweFields = {}, wallet = newAccount()): Promise<LoggedIn> {
  const key = newAccount();
  const message = siweMessage(wallet.address, await nonce(app), { sessionKey: key.address, ...f });
  const res = await postJson(app, '/v1/auth/login', { message, signature: await wallet.signMessage({ message }), key_signature: await key.signMessage({ message }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { wallet, key, account: wallet.address.toLowerCase() as Address, cookie };
}

/** What a contribution body may vary beyond its delta: the bytes sent as the delta, the shard it names, its timestamp. */
export interface BodyOptions {
  deltaBytes?: Uint8Array;
  shard?: number;
  createdAt?: number;
}

/** The contribution body: the new expert block (author = account, signed by `signer`, naming `shard`) and the encoded delta. */
export async function contributionBody(
  f: Pick<AccountsFixture, 'meta'>,
  slotName: string,
  base: Block,
  delta: ExpertDelta,
  author: Address,
  signer: Signer,
  { deltaBytes = encodeDelta(delta), shard = 0, createdAt = clock.now }: BodyOptions = {},
): Promise<{ body: Uint8Array; block: Block }> {
  const slot = slotPlan(TINY).find((s) => s.name === slotName)!;
  const payload = expertCandidate(slot, base.payload, delta, 'int8');
  const block = await buildBlock(
    {
      type: 'expert',
      index: base.header.index + 1,
      name: slotName,
      depends_on: [f.meta, blockHash(base.header)],
      prev: blockHash(base.header),
      payload,
      meta: { encoding: 'tensors-v1', shard },
      created_at: createdAt,
    },
    signer,
    author,
  );
  return { body: encodeBlock({ header: block.header, payload: deltaBytes }), block };
}

/** GET /v1/assignment as `who`. */
export async function assignment(app: Requester, who: LoggedIn): Promise<Assignment> {
  const res = await app.request('/v1/assignment', { headers: { cookie: who.cookie } });
  if (res.status !== 200) throw new Error(`assignment failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Assignment;
}

/** A signed-in account and its assignment. */
export type Assigned = LoggedIn & { assignment: Assignment };

/** A fresh signed-in account assigned `slot`: slots are assigned in turn, so a few sign-ins reach any of them. */
export async function loginAssigned(app: Hono, slot: string): Promise<Assigned> {
  for (let tries = 0; tries < 64; tries++) {
    const who = await login(app);
    const a = await assignment(app, who);
    if (a.slot === slot) return { ...who, assignment: a };
  }
  throw new Error(`no sign-in was assigned ${slot}`);
}

/** The params of genesis expert `slotName`, and a delta moving `density` of them by a small deterministic amount. */
export function nudge(f: AccountsFixture, slotName: string, density: number, seed = 1): { base: Block; delta: ExpertDelta } {
  return nudgeOn(f.genesis.find((b) => b.header.name === slotName)!, slotName, density, seed);
}

/** A delta moving `density` of expert `slotName`'s params in block `base` by a small deterministic amount. */
export function nudgeOn(base: Block, slotName: string, density: number, seed = 1): { base: Block; delta: ExpertDelta } {
  const params = slotParams(slotPlan(TINY).find((s) => s.name === slotName)!, base.payload);
  const moved = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.map((x, i) => x + ((((i + 1) * 7919 + seed * 104729) % 13) - 6.5) * 1e-3)]));
  return { base, delta: sparsifyDelta(params, moved, density) };
}

/** Closes the fixture's relay and opens its store again with the same settings and a new app, as a restart does. */
export async function reopen(f: AccountsFixture): Promise<void> {
  const { accounts, verdictSigner } = f.relay;
  await f.relay.close();
  f.relay = await openRelay(f.dir, relayRules(1 << 20), accounts.config, verdictSigner, f.backend.backends);
  f.app = createApp({ ...f.relay, maxPayloadBytes: 1 << 20, limits: UNLIMITED });
}

export const submitContribution = (app: Requester, body: Uint8Array, cookie: string) =>
  app.request('/v1/contributions', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream', cookie } });

/** What a refused request must leave unchanged: chain heads and counts, ledger entries, contributions. */
export async function snapshot(f: AccountsFixture): Promise<unknown> {
  const { index, accounts } = f.relay;
  const version = (await index.versionOf(f.meta))!;
  return {
    counts: await index.counts(),
    heads: await index.paramIndex(version),
    journal: await accounts.journal.trialBalance(),
    contributions: await accountsRow(f, 'SELECT COUNT(*) AS n FROM contributions'),
  };
}

import { randomBytes } from 'node:crypto';
import type { Hash } from '@blyan/block';
import { MAX_BLOCK_TEXT, type Vote, joinDocuments, signVote } from '@blyan/data';
import type { Hono } from 'hono';
import pg from 'pg';
import { DEFAULT_DATA_CONFIG, type DataConfig } from '../src/data/config.ts';
import { appendUpload } from '../src/data/append.ts';
import { castVote } from '../src/data/review.ts';
import { uploadsAt } from '../src/rounds/target.ts';
import type { UploadView } from '@blyan/data';
import { expect } from 'vitest';
import { type AccountsFixture, type LoggedIn, accountsFixture, clock, login } from './accounts-helpers.ts';

/** Plain prose, distinct per seed, long enough for every L0 bound. */
export function prose(seed: number, sentences = 6): string {
  const nouns = ['river', 'lantern', 'harbour', 'orchard', 'meadow', 'compass', 'archive', 'furnace', 'glacier', 'village', 'market', 'bridge'];
  const verbs = ['carries', 'follows', 'remembers', 'shelters', 'measures', 'outlasts', 'answers', 'gathers'];
  return Array.from({ length: sentences }, (_, i) => {
    const n = (k: number) => nouns[(seed * 7 + i * 3 + k * 5) % nouns.length];
    return `The ${n(0)} ${verbs[(seed + i) % verbs.length]} the ${n(1)} near the ${n(2)} number ${seed * 31 + i}.`;
  }).join(' ');
}

/** The data hub on the tiny genesis: review samples of 2, tiers any model reaches (TINY is random). */
export const testDataConfig = (data: Partial<DataConfig> = {}): DataConfig => ({
  ...DEFAULT_DATA_CONFIG,
  sampleSize: 2,
  tiers: { gold: { maxBpb: 100, maxOverlap: 0.5 }, silver: { maxBpb: 200, maxOverlap: 0.7 } },
  ...data,
});

/** A data hub on the tiny genesis (testDataConfig). */
export function dataFixture(data: Partial<DataConfig> = {}): Promise<AccountsFixture> {
  return accountsFixture({ data: testDataConfig(data) });
}

export const encode = (s: string) => new TextEncoder().encode(s);
export const uploadBody = (docs: readonly string[]) => encode(joinDocuments(docs));

export async function upload(app: Hono, who: LoggedIn, body: Uint8Array, name = 'tales', q = 'source=test%20fixture&licence=CC0-1.0'): Promise<Response> {
  return app.request(`/v1/datasets/${name}/uploads?${q}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'text/plain', cookie: who.cookie } });
}

/** Uploads and waits for L1: the upload as it stands after scoring. */
export async function uploadScored(f: AccountsFixture, who: LoggedIn, docs: readonly string[], name = 'tales'): Promise<UploadView> {
  const r = await upload(f.app, who, uploadBody(docs), name);
  if (r.status !== 202) throw new Error(`upload failed: ${r.status} ${await r.text()}`);
  const { id } = (await r.json()) as UploadView;
  await f.relay.accounts.data.worker.drain();
  return (await (await f.app.request(`/v1/uploads/${id}`)).json()) as UploadView;
}

/** `who`'s vote on `doc` of upload `id`, signed by their session key. */
export function vote(who: LoggedIn, id: number, doc: Hash, keep: boolean, over: Partial<Vote> = {}) {
  return signVote({ v: 1, kind: 'blyan-dataset-vote', upload: id, doc, keep, voter: who.account, nonce: `${randomBytes(32).toString('hex')}` as Hash, at: clock.now, ...over }, who.key);
}

export const postVote = (app: Hono, who: LoggedIn, body: unknown) =>
  app.request('/v1/votes', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', cookie: who.cookie } });

/** The sampled documents of an upload (what reviewers are shown). */
export async function sampled(f: AccountsFixture, id: number): Promise<Hash[]> {
  return (await f.relay.accounts.data.store.docs(id)).filter((d) => d.sampled).map((d) => d.sha256);
}

/** Uploads `docs` as dataset `name` through `f.app` and has three other accounts keep its whole review sample, so it is appended to chain D. */
export async function acceptedDataset(f: AccountsFixture, uploader: LoggedIn, docs: readonly string[], name = 'tales'): Promise<void> {
  const up = await uploadScored(f, uploader, docs, name);
  const reviewers = [await login(f.app), await login(f.app), await login(f.app)];
  for (const doc of await sampled(f, up.id)) for (const r of reviewers) expect((await postVote(f.app, r, await vote(r, up.id, doc, true))).status).toBe(201);
  await f.relay.accounts.data.worker.drain();
  expect((await f.relay.accounts.data.store.get(up.id))!.status).toBe('accepted');
}

/**
 * Uploads `docs` as dataset `name`, has its review sample kept and its blocks appended to chain D,
 * and leaves it there, not yet marked accepted: the votes cast as the /votes route casts them but
 * without waking the data worker, then the worker's first step (appendUpload) and not its second.
 * That is the state a worker is in between the two, or leaves when it stops there until a worker
 * takes the upload again (DataWorker.take). Returns the upload's id.
 */
export async function appendedUpload(f: AccountsFixture, uploader: LoggedIn, docs: readonly string[], name = 'tales'): Promise<number> {
  const { data } = f.relay.accounts;
  const up = await uploadScored(f, uploader, docs, name);
  const reviewers = [await login(f.app), await login(f.app), await login(f.app)];
  for (const doc of await sampled(f, up.id)) for (const r of reviewers) expect(await castVote(data.review, r.account, await vote(r, up.id, doc, true))).toMatchObject({ ok: true });
  const u = (await data.store.get(up.id))!;
  expect(u.status).toBe('appending');
  await appendUpload({ index: f.relay.index, ledger: f.relay.ledger, store: data.store, signer: f.relay.verdictSigner! }, u, u.created_at, MAX_BLOCK_TEXT);
  return up.id;
}

/** The uploads of dataset `name` at its head under the fixture's meta block (uploadsAt): what rounds on it read from the store. */
export async function datasetUploads(f: AccountsFixture, name: string): Promise<number[]> {
  const { index } = f.relay;
  return uploadsAt(index, (await index.datasetHeads((await index.versionOf(f.meta))!))[name] ?? null);
}

/** Runs counting queries (`SELECT COUNT(*) AS n …`) on the fixture's accounts database: accounts.sqlite, or PostgreSQL. */
export async function counter(f: AccountsFixture): Promise<{ count(sql: string, params?: unknown[]): Promise<number>; close(): Promise<void> }> {
  const url = f.backend.backends.database;
  if (url === undefined) {
    const { db } = f.relay.accounts;
    return { count: async (sql, params = []) => (db.prepare(sql.replace(/\$\d+/g, '?')).get(...params) as { n: number }).n, close: async () => undefined };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return { count: async (sql, params = []) => Number((await client.query<{ n: string }>(sql, params)).rows[0]!.n), close: () => client.end() };
}

/** Everything a refused upload or vote must leave as it was: data rows, chain D, the journal. */
export async function dataState(f: AccountsFixture): Promise<unknown> {
  const db = await counter(f);
  const n = (t: string) => db.count(`SELECT COUNT(*) AS n FROM ${t}`);
  try {
    return {
      uploads: await n('data_uploads'),
      documents: await n('data_documents'),
      bands: await n('data_document_bands'),
      uploadDocs: await n('data_upload_docs'),
      votes: await n('data_votes'),
      settled: await db.count('SELECT COUNT(*) AS n FROM data_upload_docs WHERE settled IS NOT NULL'),
      chain: await f.relay.index.counts(),
      journal: await f.relay.accounts.book.trialBalance(),
    };
  } finally {
    await db.close();
  }
}

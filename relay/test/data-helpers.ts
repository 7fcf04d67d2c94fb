import { randomBytes } from 'node:crypto';
import type { Hash } from '@blyan/block';
import { type Vote, joinDocuments, signVote } from '@blyan/data';
import type { Hono } from 'hono';
import pg from 'pg';
import { DEFAULT_DATA_CONFIG, type DataConfig } from '../src/data/config.ts';
import type { UploadView } from '@blyan/data';
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

/** A data hub on the tiny genesis: review samples of `sampleSize`, tiers any model reaches (TINY is random). */
export function dataFixture(data: Partial<DataConfig> = {}): Promise<AccountsFixture> {
  return accountsFixture({
    data: { ...DEFAULT_DATA_CONFIG, sampleSize: 2, tiers: { gold: { maxBpb: 100, maxOverlap: 0.5 }, silver: { maxBpb: 200, maxOverlap: 0.7 } }, ...data },
  });
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

/** The data hub of round tests: a quarter of each upload held out, review samples of 2, tiers the tiny random model reaches. */
export const ROUND_DATA: DataConfig = { ...DEFAULT_DATA_CONFIG, hiddenFraction: 0.25, sampleSize: 2, tiers: { gold: { maxBpb: 100, maxOverlap: 0.5 }, silver: { maxBpb: 200, maxOverlap: 0.7 } } };

/** Uploads `docs` as dataset `name` and has three other accounts keep its whole review sample, so it is appended to chain D. */
export async function acceptDataset(f: AccountsFixture, who: LoggedIn, docs: readonly string[], name = 'tales'): Promise<void> {
  const up = await uploadScored(f, who, docs, name);
  const reviewers = [await login(f.app), await login(f.app), await login(f.app)];
  for (const doc of await sampled(f, up.id)) {
    for (const r of reviewers) {
      const res = await postVote(f.app, r, await vote(r, up.id, doc, true));
      if (res.status !== 201) throw new Error(`a review vote on upload ${up.id} got ${res.status}: ${await res.text()}`);
    }
  }
  await f.relay.accounts.data.worker.drain();
  const status = (await f.relay.accounts.data.store.get(up.id))!.status;
  if (status !== 'accepted') throw new Error(`upload ${up.id} of ${name} is ${status}, not accepted`);
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

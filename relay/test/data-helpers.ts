import { randomBytes } from 'node:crypto';
import type { Hash } from '@blyan/block';
import { type Vote, joinDocuments, signVote } from '@blyan/data';
import type { Hono } from 'hono';
import { DEFAULT_DATA_CONFIG, type DataConfig } from '../src/data/config.ts';
import type { UploadView } from '@blyan/data';
import { type AccountsFixture, type LoggedIn, accountsFixture, clock } from './accounts-helpers.ts';

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
export function sampled(f: AccountsFixture, id: number): Hash[] {
  return f.relay.accounts.data.store.docs(id).filter((d) => d.sampled).map((d) => d.sha256);
}

/** Everything a refused upload or vote must leave as it was: data rows, chain D, the journal. */
export async function dataState(f: AccountsFixture): Promise<unknown> {
  const { db, journal } = f.relay.accounts;
  const n = (t: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
  return {
    uploads: n('data_uploads'),
    documents: n('data_documents'),
    bands: n('data_document_bands'),
    uploadDocs: n('data_upload_docs'),
    votes: n('data_votes'),
    settled: (db.prepare('SELECT COUNT(*) AS n FROM data_upload_docs WHERE settled IS NOT NULL').get() as { n: number }).n,
    chain: await f.relay.index.counts(),
    journal: await journal.trialBalance(),
  };
}

import { type Block, blockHash, buildBlock } from '@blyan/block';
import { decodeDatasetPayload } from '@blyan/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHidden } from '../src/data/hidden.ts';
import { type AccountsFixture, type LoggedIn, login, newAccount } from './accounts-helpers.ts';
import { dataFixture, datasetUploads, postVote, prose, sampled, uploadScored, vote } from './data-helpers.ts';
import { submit } from './helpers.ts';

let f: AccountsFixture;
let uploader: LoggedIn;
let reviewers: LoggedIn[];
const docs = Array.from({ length: 40 }, (_, i) => prose(200 + i, 8));

beforeAll(async () => {
  // A quarter held out: every upload here has some (the chance that one of 40 has none is 1e-5).
  // The tiny model scores these documents 6.039 to 6.050 bits per byte: the tiers split them.
  f = await dataFixture({ hiddenFraction: 0.25, tiers: { gold: { maxBpb: 6.044, maxOverlap: 0.5 }, silver: { maxBpb: 6.047, maxOverlap: 0.7 } } });
  uploader = await login(f.app);
  reviewers = [await login(f.app), await login(f.app), await login(f.app)];
});
afterAll(() => f.close());

async function reviewAll(id: number, keep: (i: number) => boolean): Promise<void> {
  for (const [i, doc] of (await sampled(f, id)).entries()) {
    for (const r of reviewers) expect((await postVote(f.app, r, await vote(r, id, doc, keep(i)))).status).toBe(201);
  }
  await f.relay.accounts.data.worker.drain();
}

describe('the data hub end to end', () => {
  it('upload → L1 tiers → three agreeing votes per sample → blocks on chain D with the evaluator verdict; voters credited', async () => {
    const up = await uploadScored(f, uploader, docs);
    expect(up).toMatchObject({ status: 'review', documents: 40, sample: { size: 2, keep: 0, drop: 0 } });
    expect(up.mean_bpb).toBeGreaterThan(0);
    expect(up.tiers.gold + up.tiers.silver + up.tiers.experimental).toBe(40 - up.hidden);
    expect((await (await f.app.request('/v1/review', { headers: { cookie: uploader.cookie } })).json()).error.code).toBe('nothing_to_review');
    const shown = (await (await f.app.request('/v1/review', { headers: { cookie: reviewers[0]!.cookie } })).json()) as { upload: number; doc: string };
    expect(shown.upload).toBe(up.id);
    await reviewAll(up.id, () => true);
    const done = (await (await f.app.request(`/v1/uploads/${up.id}`)).json()) as typeof up;
    expect(done.status).toBe('accepted');
    expect(done.blocks).toHaveLength(1);
    const block = (await f.relay.index.block(done.blocks[0]!.hash))!;
    expect(block.header).toMatchObject({ chain: 'D', type: 'dataset', name: 'tales', prev: null, meta: { encoding: 'dataset-v1', uploader: uploader.account, licence: 'CC0-1.0', hidden: up.hidden } });
    expect(block.verdict).toMatchObject({ slot: 'tales', base: f.meta, accepted: true });
    const payload = decodeDatasetPayload(await f.relay.objects.read(block.header.payload_hash));
    expect(payload.docs).toHaveLength(40 - up.hidden);
    for (const r of reviewers) expect(await f.relay.accounts.book.balance(`user:${r.account}`)).toBe(20);
    expect(await f.relay.accounts.book.trialBalance()).toMatchObject({ total: 0, unbalanced: [] });
    const list = (await (await f.app.request('/v1/datasets')).json()) as { datasets: { name: string; head: string; blocks: number }[] };
    expect(list.datasets).toEqual([expect.objectContaining({ name: 'tales', head: done.blocks[0]!.hash, blocks: 1 })]);
  });

  it('the held-out part is chosen by the keyed hash, never in a payload nor served, and handed to evaluation alone', async () => {
    const store = f.relay.accounts.data.store;
    const uploads = await datasetUploads(f, 'tales');
    const hidden = await store.heldOutDocs('tales', uploads);
    expect(hidden.length).toBeGreaterThan(0);
    const training = await store.trainingDocs('tales', uploads, ['gold', 'silver', 'experimental']);
    expect(hidden.length + training.length).toBe(40);
    for (const d of hidden) expect(isHidden(f.relay.accounts.data.secret, d.sha256, 0.25)).toBe(true);
    for (const d of training) expect(isHidden(f.relay.accounts.data.secret, d.sha256, 0.25)).toBe(false);
    const served = (await (await f.app.request('/v1/datasets/tales/documents?limit=1000')).json()) as { documents: { sha256: string }[] };
    expect(served.documents.map((d) => d.sha256).sort()).toEqual(training.map((d) => d.sha256).sort());
    for (const d of hidden) expect(served.documents.some((s) => s.sha256 === d.sha256)).toBe(false);
  });

  it('the documents route pages by offset and limit and filters by tier, gold first, with the total of the filtered list', async () => {
    type Page = { total: number; documents: { sha256: string; tier: string }[] };
    const page = async (q: string) => (await (await f.app.request(`/v1/datasets/tales/documents?${q}`)).json()) as Page;
    const all = await page('limit=1000');
    expect(all.total).toBe(all.documents.length);
    const rank = { gold: 0, silver: 1, experimental: 2 } as Record<string, number>;
    expect(all.documents.map((d) => rank[d.tier])).toEqual(all.documents.map((d) => rank[d.tier]).sort());
    expect(new Set(all.documents.map((d) => d.tier)).size).toBeGreaterThan(1);
    for (const tiers of ['gold', 'silver', 'experimental', 'silver,experimental']) {
      const want = all.documents.filter((d) => tiers.split(',').includes(d.tier));
      const pages: Page['documents'] = [];
      for (let offset = 0; offset < want.length + 7; offset += 7) {
        const p = await page(`tier=${tiers}&limit=7&offset=${offset}`);
        expect(p.total).toBe(want.length);
        expect(p.documents.length).toBe(Math.max(0, Math.min(7, want.length - offset)));
        pages.push(...p.documents);
      }
      expect(pages.map((d) => d.sha256)).toEqual(want.map((d) => d.sha256));
    }
    expect((await f.app.request('/v1/datasets/tales/documents?tier=platinum')).status).toBe(400);
    expect((await f.app.request('/v1/datasets/tales/documents?offset=-1')).status).toBe(400);
  });

  it('a second upload to the same dataset is its next version; a mostly dropped one is refused and appends nothing', async () => {
    const v2 = await uploadScored(f, uploader, Array.from({ length: 8 }, (_, i) => prose(300 + i, 8)));
    await reviewAll(v2.id, () => true);
    const detail = (await (await f.app.request('/v1/datasets/tales')).json()) as { versions: number; head: string; uploads: { blocks: { hash: string }[] }[] };
    expect(detail.versions).toBe(2);
    const second = (await f.relay.index.block(detail.head as never))!;
    expect(second.header.prev).toBe(detail.uploads[0]!.blocks[0]!.hash);
    const counts = await f.relay.index.counts();
    const bad = await uploadScored(f, uploader, Array.from({ length: 8 }, (_, i) => prose(400 + i, 8)));
    await reviewAll(bad.id, () => false);
    expect(((await (await f.app.request(`/v1/uploads/${bad.id}`)).json()) as { status: string }).status).toBe('refused');
    expect(await f.relay.index.counts()).toEqual(counts);
  });

  it("chain D's rule: a stranger's dataset block is refused; only the evaluator's verdict or an authority lets one in", async () => {
    const head = (await (await f.app.request('/v1/datasets/tales')).json()) as { head: string };
    const prev = (await f.relay.index.block(head.head as never))!;
    const forged: Block = await buildBlock(
      { type: 'dataset', index: prev.header.index + 1, name: 'tales', depends_on: [f.meta, blockHash(prev.header)], prev: blockHash(prev.header), payload: new TextEncoder().encode('spam'), meta: { encoding: 'text-utf8' } },
      newAccount(),
    );
    const r = await submit(f.app, forged);
    expect(r.status).toBe(403);
  });
});

import { createHash } from 'node:crypto';
import { type Address, type Hash, blockHash } from '@blyan/block';
import { parseVerdict, sampleCommitment } from '@blyan/chain';
import { encodeDelta, sparsifyDelta } from '@blyan/delta';
import { type ParamMap, Tokenizer } from '@blyan/model';
import { parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { evalStream } from '@blyan/model/eval';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { corpusDocs } from '../src/corpus.ts';
import { isHidden } from '../src/data/hidden.ts';
import { DEFAULT_ROUNDS, type RoundsConfig } from '../src/rounds/config.ts';
import type { WorkUnit } from '../src/rounds/rounds.ts';
import type { RoundTarget } from '../src/rounds/target.ts';
import { type AccountsFixture, type LoggedIn, accountsFixture, fixedEvalSecret, login } from './accounts-helpers.ts';
import { acceptedDataset, appendedUpload, datasetUploads, prose, testDataConfig } from './data-helpers.ts';
import { TINY } from './helpers.ts';
import { trainExpert } from './train-expert.ts';

const plan = slotPlan(TINY);
/** Rounds as rounds.test.ts runs them on the tiny model, on datasets with a quarter held out. */
const ROUNDS: RoundsConfig = {
  ...DEFAULT_ROUNDS,
  contributors: 3,
  windows: 192,
  scoreWindows: 64,
  steps: 30,
  outer: { lr: 1, momentum: 0.9 },
  screen: { ...DEFAULT_ROUNDS.screen, own: { confidence: 0.95, margin: 0 } },
};
const DOCS = Array.from({ length: 40 }, (_, i) => prose(500 + i, 8));

/** Words of a made-up language (q, x, z, j, v, k, w): text nothing like the genesis corpus, which passes L0. */
function gibberish(seed: number): string {
  let s = seed * 7919;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const word = () => Array.from({ length: 3 + Math.floor(next() * 5) }, () => 'qxzjvkw'[Math.floor(next() * 7)]).join('');
  return Array.from({ length: 12 }, () => Array.from({ length: 10 }, word).join(' ')).join('\n');
}

let f: AccountsFixture;
let uploader: LoggedIn;

async function fixture(rounds: RoundsConfig, maxRelativeNorm = 10, prepare?: Parameters<typeof accountsFixture>[2]): Promise<void> {
  f = await accountsFixture({
    maxRelativeNorm,
    rounds,
    data: testDataConfig({ hiddenFraction: 0.25 }),
  }, undefined, prepare);
  uploader = await login(f.app);
}
afterEach(() => f.close());

/** Uploads `docs` as dataset `name` by `who` (the uploader unless said), accepted onto chain D. */
const accepted = (docs: readonly string[], name = 'tales', who = uploader) => acceptedDataset(f, who, docs, name);

const rounds = () => f.relay.accounts.rounds;
const credited = (who: Address) => f.relay.accounts.book.balance(`user:${who}`);
const history = async (who: Address) => ((await (await f.app.request(`/v1/accounts/${who}/history`)).json()) as { entries: { kind: string; ref: string; memo: string; amount: number }[] }).entries;

async function target(name = 'tales'): Promise<RoundTarget> {
  const t = await rounds().dataset(name);
  if ('ok' in t) throw new Error(`${t.code}: ${t.message}`);
  return t;
}

/** The genesis model's parameters and the base expert of a work unit. */
function model(unit: WorkUnit): { params: ParamMap; base: ParamMap } {
  const params: ParamMap = {};
  for (const b of f.genesis.slice(1)) Object.assign(params, slotParams(plan.find((s) => s.name === b.header.name)!, b.payload));
  return { params, base: slotParams(plan.find((s) => s.name === unit.slot)!, f.genesis.find((b) => blockHash(b.header) === unit.base)!.payload) };
}

/** `steps` AdamW steps (at `lr`; the unit's H by default) of the unit's expert on `texts`: its trained tensors. */
function tune(unit: WorkUnit, texts: readonly string[], lr: number, steps = unit.steps): Promise<ParamMap> {
  const tokenizer = Tokenizer.fromJSON(parseMetaPayload(f.genesis[0]!.payload).tokenizer);
  return trainExpert(TINY, model(unit).params, plan.find((s) => s.name === unit.slot)!, evalStream(tokenizer, texts), { steps, B: 8, lr, stride: 7919, threads: 1 });
}

/** SHA-256 of the shard the relay serves at a unit's shard URL. */
const servedHash = async (unit: WorkUnit) => createHash('sha256').update(new Uint8Array(await (await f.app.request(unit.shard.url)).arrayBuffer())).digest('hex');
const shardTexts = async (unit: WorkUnit) => ((await (await f.app.request(unit.shard.url)).json()) as { docs: { text: string }[] }).docs.map((d) => d.text);

/** A contributor's delta: the unit's expert trained on the dataset shard it was handed, top-10 % int8. */
async function trained(unit: WorkUnit): Promise<Uint8Array> {
  return encodeDelta(sparsifyDelta(model(unit).base, await tune(unit, await shardTexts(unit), 1e-2), 0.1));
}

/**
 * A saboteur's delta: what training on its dataset shard changes (twice the unit's H), minus what
 * training on the genesis corpus changes (at a fifth of the rate). It helps the new domain and
 * harms the old one. (At the unit's H its dataset gain was not significant in 1 run of 12, and its
 * genesis harm within the bound in another.)
 */
async function sabotaged(unit: WorkUnit): Promise<Uint8Array> {
  const { base } = model(unit);
  const fresh = await tune(unit, await shardTexts(unit), 5e-2, 2 * unit.steps);
  const old = await tune(unit, corpusDocs.train().slice(0, 16).map((d) => d.text), 1e-2);
  const moved = Object.fromEntries(Object.entries(base).map(([k, w]) => [k, w.map((x, i) => x + (fresh[k]![i]! - x) - 1.5 * (old[k]![i]! - x))]));
  return encodeDelta(sparsifyDelta(base, moved, 0.1));
}

/** Three signed-in contributors, each with a work unit in the same round on dataset `tales`. */
async function contributors(): Promise<{ who: LoggedIn; unit: WorkUnit }[]> {
  const out = [];
  for (let i = 0; i < 3; i++) {
    const who = await login(f.app);
    const res = await f.app.request('/v1/rounds/unit?dataset=tales', { headers: { cookie: who.cookie } });
    expect(res.status).toBe(200);
    out.push({ who, unit: (await res.json()) as WorkUnit });
  }
  expect(new Set(out.map((c) => c.unit.round)).size).toBe(1);
  return out;
}

const post = (round: number, body: Uint8Array, cookie?: string) =>
  f.app.request(`/v1/rounds/${round}/deltas`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream', ...(cookie && { cookie }) } });

describe('rounds on a chain-D dataset', () => {
  beforeEach(() => fixture(ROUNDS));

  it('gives each unit a shard of the genesis train split to replay at the configured share, served and hashed as that split\'s shards are', async () => {
    await accepted(DOCS);
    const team = await contributors();
    const train = f.relay.accounts.config.trainDocs();
    const { shardDocs } = f.relay.accounts.config;
    for (const c of team) {
      const replay = c.unit.replay!;
      expect(replay).toMatchObject({ fraction: ROUNDS.dataset.replay, shard: { split: 'train', of: Math.ceil(train.length / shardDocs), url: `/v1/shards/${replay.shard.index}` } });
      const body = new Uint8Array(await (await f.app.request(replay.shard.url)).arrayBuffer());
      expect(createHash('sha256').update(body).digest('hex')).toBe(replay.shard.sha256);
      const ids = (JSON.parse(new TextDecoder().decode(body)) as { docs: { id: string }[] }).docs.map((d) => d.id);
      expect(ids).toEqual(train.slice(replay.shard.docs.from, replay.shard.docs.to).map((d) => d.id));
    }
    expect(new Set(team.map((c) => c.unit.replay!.shard.index)).size).toBe(team.length);
    // Asked again, a unit is the same unit: its replay is the relay's, fixed by the unit it stored.
    const again = await f.app.request('/v1/rounds/unit?dataset=tales', { headers: { cookie: team[0]!.who.cookie } });
    expect(((await again.json()) as WorkUnit).replay).toEqual(team[0]!.unit.replay);
  });

  it('hands out shards of the public part, judges on the held-out part and the genesis split, and pays contributors and the uploader', async () => {
    await accepted(DOCS);
    const team = await contributors();
    const round = team[0]!.unit.round;
    const hidden = new Set((await f.relay.accounts.data.store.heldOutDocs('tales', await datasetUploads(f, 'tales'))).map((d) => d.sha256));
    const head = await (await target()).version(f.meta);
    for (const c of team) {
      expect(c.unit).toMatchObject({ dataset: 'tales', shard: { split: 'public', url: `/v1/datasets/tales/versions/${head}/shards/${c.unit.shard.index}` } });
      const res = await f.app.request(c.unit.shard.url);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(createHash('sha256').update(body).digest('hex')).toBe(c.unit.shard.sha256);
      const shard = JSON.parse(new TextDecoder().decode(body)) as { docs: { id: Hash }[] };
      expect(shard.docs.length).toBeGreaterThan(0);
      for (const d of shard.docs) expect(hidden.has(d.id)).toBe(false);
      expect((await post(round, await trained(c.unit), c.who.cookie)).status).toBe(202);
    }

    // The third delta filled the round: it is judged in the background (embedded), or by a worker (postgres+s3).
    await f.judged();
    const r = (await f.relay.accounts.roundStore.round(round))!;
    expect(r).toMatchObject({ status: 'accepted', reason: null, dataset: 'tales' });
    const result = { block: r.block };
    expect(r.genesis_lower!).toBeGreaterThan(-r.genesis_bound!);
    expect(r.genesis_bound!).toBeGreaterThan(0);
    expect((await f.relay.index.paramIndex(f.meta))[r.slot]).toBe(result.block);
    const verdict = parseVerdict(JSON.parse(r.verdict!));
    expect(verdict).toMatchObject({ accepted: true, block: result.block, sample: { seed: r.seed, commitment: r.commitment } });
    expect(sampleCommitment(verdict.sample.seed)).toBe(r.commitment);

    // The pool is split: a tenth to the uploader, the rest to the kept contributors; it balances.
    const paid = await Promise.all(team.map((c) => credited(c.who.account)));
    const uploaderPaid = await credited(uploader.account);
    expect(uploaderPaid).toBeGreaterThan(0);
    expect(paid.reduce((a, b) => a + b, 0) + uploaderPaid).toBe(r.pool);
    expect(uploaderPaid).toBe(Math.round(r.pool! * ROUNDS.dataset.uploaderShare));
    expect(await f.relay.accounts.book.trialBalance()).toMatchObject({ total: 0, unbalanced: [] });
    // Both the uploader's and each contributor's history show the round.
    for (const who of [uploader.account, ...team.filter((_, i) => paid[i]! > 0).map((c) => c.who.account)]) {
      expect(await history(who)).toContainEqual(expect.objectContaining({ kind: 'round', ref: String(round), memo: expect.stringContaining('for dataset tales') }));
    }
    const view = (await (await f.app.request(`/v1/rounds/${round}`)).json()) as { dataset: string; genesis: { lower: number; bound: number }; uploaders: { account: string; credit: number }[] };
    expect(view).toMatchObject({ dataset: 'tales', genesis: { lower: r.genesis_lower, bound: r.genesis_bound }, uploaders: [{ account: uploader.account, credit: uploaderPaid }] });
  });

  it('refuses a delta to a dataset round from a client that is not signed in, or signed in without a unit in it', async () => {
    await accepted(DOCS);
    const [c] = await contributors();
    const bytes = await trained(c!.unit);
    expect((await post(c!.unit.round, bytes)).status).toBe(401);
    const stranger = await login(f.app);
    expect(await (await post(c!.unit.round, bytes, stranger.cookie)).json()).toMatchObject({ error: { code: 'no_work_unit' } });
    expect(await f.relay.accounts.roundStore.deltas(c!.unit.round)).toEqual([]);
    expect((await f.app.request('/v1/rounds/unit?dataset=tales')).status).toBe(401);
  });

  it('opens no round on a dataset that is not on chain D or has no held-out part to judge on', async () => {
    const who = await login(f.app);
    const ask = (name: string) => f.app.request(`/v1/rounds/unit?dataset=${name}`, { headers: { cookie: who.cookie } });
    expect(await (await ask('nowhere')).json()).toMatchObject({ error: { code: 'no_dataset' } });
    expect((await ask('bad%20name')).status).toBe(400);
    // Documents the keyed hash keeps public, every one: the dataset is accepted but has nothing held out.
    const open = Array.from({ length: 200 }, (_, i) => prose(900 + i, 8))
      .filter((t) => !isHidden(f.relay.accounts.data.secret, createHash('sha256').update(t).digest('hex') as Hash, 0.25))
      .slice(0, 12);
    await accepted(open, 'open-book');
    expect(await f.relay.accounts.data.store.heldOutDocs('open-book', await datasetUploads(f, 'open-book'))).toEqual([]);
    const res = await ask('open-book');
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: 'dataset_unjudgeable' } });
    expect(await f.relay.accounts.roundStore.withRoom(f.meta, 'open-book')).toEqual([]);
  });

  it('rejects a round whose dataset gained a version while it was open (its shards changed), and opens the next on the new head', async () => {
    await accepted(DOCS);
    const [c] = await contributors();
    expect((await post(c!.unit.round, await trained(c!.unit), c!.who.cookie)).status).toBe(202);
    await accepted(Array.from({ length: 8 }, (_, i) => prose(700 + i, 8)));
    // The unit's shard is still the one it named: shards are served at the version the round opened on.
    expect(await servedHash(c!.unit)).toBe(c!.unit.shard.sha256);
    expect(await rounds().close(c!.unit.round)).toMatchObject({ accepted: false, reason: expect.stringMatching(/^stale_dataset/) });
    expect(await credited(c!.who.account)).toBe(0);
    expect((await rounds().unit(c!.who.account, await target())).round).not.toBe(c!.unit.round);
  });

  it('keeps a round on the documents of the version it opened on while the store takes up an upload under the same head: every unit of it names and is served shards of one list', async () => {
    await accepted(DOCS);
    // The second upload's blocks are the dataset's head; the store marks it accepted only later.
    const later = await appendedUpload(f, uploader, Array.from({ length: 40 }, (_, i) => prose(700 + i, 8)));
    const { store, worker } = f.relay.accounts.data;
    const head = await (await target()).version(f.meta);
    const ask = async () => {
      const who = await login(f.app);
      return (await (await f.app.request('/v1/rounds/unit?dataset=tales', { headers: { cookie: who.cookie } })).json()) as WorkUnit;
    };
    const first = await ask();
    expect(await worker.take(later)).toBe(later);
    expect((await store.get(later))!.status).toBe('accepted');
    expect(await (await target()).version(f.meta)).toBe(head);
    const second = await ask();
    expect(second.round).toBe(first.round);
    expect(second.shard.of).toBe(first.shard.of);
    for (const u of [first, second]) expect(await servedHash(u)).toBe(u.shard.sha256);
  });
});

describe('the genesis domain guards a dataset round', () => {
  // A tighter bound than production (0.01 bits per byte): the tiny model's experts move its loss little.
  // The screen keeps every delta (the genesis part costs some their own shard's significance; the
  // screen is tested in rounds.test.ts): what is judged here is the aggregate.
  // The store's evaluation secret is fixed (the file embedded, the shared row on PostgreSQL), so the
  // dataset's held-out part (and so its public shards) is the same every run: with a random one, 1 run in 10 held out documents on which the
  // saboteur's dataset gain was nil (mean 0.0004 nats/token). The round's seed, and so the windows
  // judged, stays random.
  beforeEach(() =>
    fixture(
      { ...ROUNDS, windows: 128, screen: { ...ROUNDS.screen, own: { confidence: 0.6, margin: -1 } }, dataset: { ...ROUNDS.dataset, genesisBudgetBpb: 0.002 } },
      100,
      fixedEvalSecret('dataset-rounds: the genesis guard'),
    ),
  );

  it('refuses a round that improves the dataset but makes the genesis hidden split worse than the bound allows: no block, no credit', async () => {
    await accepted(Array.from({ length: 40 }, (_, k) => gibberish(k + 1)));
    const team = await contributors();
    const round = team[0]!.unit.round;
    const before = await f.relay.index.paramIndex(f.meta);
    for (const c of team) {
      const res = await post(round, await sabotaged(c.unit), c.who.cookie);
      expect(res.status, await res.clone().text()).toBe(202);
    }
    await f.judged();
    const r = (await f.relay.accounts.roundStore.round(round))!;
    expect((await f.relay.accounts.roundStore.deltas(round)).map((d) => d.status)).toEqual(['kept', 'kept', 'kept']);
    expect(r, `${r.reason} ${r.genesis_change} ${r.genesis_lower} ${r.genesis_bound}`).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^genesis_worse/) });
    expect(r.lower!).toBeGreaterThan(ROUNDS.test.margin);
    expect(r.genesis_lower!).toBeLessThan(-r.genesis_bound!);
    expect(await f.relay.index.paramIndex(f.meta)).toEqual(before);
    for (const who of [uploader.account, ...team.map((c) => c.who.account)]) expect(await credited(who)).toBe(0);
    expect(await f.relay.accounts.roundStore.momentum(r.slot, f.meta)).toBeNull();
  });
});

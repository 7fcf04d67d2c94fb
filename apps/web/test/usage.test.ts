import 'fake-indexeddb/auto';
import { blockHash } from '@blyan/block';
import { RelayClient, RelayError, type UsageReceipt } from '@blyan/client';
import { type ParamMap, Tokenizer, greedyDecode } from '@blyan/model';
import { parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, ORIGIN, accountsFixture } from '../../../relay/test/accounts-helpers.ts';
import { authority } from '../../../relay/test/helpers.ts';
import type { AnswerStats, FromWorker } from '../src/protocol.ts';
import { blockTokens, routedCounts, spreadCounts } from '../src/usage/expert-tokens.ts';
import { UsageReporter, type UsageView } from '../src/usage/reporter.ts';
import { type UsageEntry, addTokens, reportText, splitReports, takeTokens } from '../src/usage/reports.ts';
import { BlockCache } from '../src/worker/block-cache.ts';
import { ModelSession } from '../src/worker/session.ts';
import { signIn } from './signed-in.ts';

const total = (tally: ReadonlyMap<string, number> | Readonly<Record<string, number>>) => [...(tally instanceof Map ? tally.values() : Object.values(tally))].reduce((s, n) => s + n, 0);

describe('tokens per expert for one answer', () => {
  it('counts, per layer, the positions routed to each expert (wasm, CPU reference)', () => {
    // 2 layers, 3 positions, top-2 of 4 experts.
    const routes = [
      [[0, 1], [1, 2], [1, 0]],
      [[3, 2], [2, 3], [0, 3]],
    ];
    expect(routedCounts(routes, 4)).toEqual([
      [2, 3, 1, 0],
      [1, 0, 2, 3],
    ]);
  });

  it('splits each layer’s exact total, positions × topK, evenly over the experts it used (WebGPU)', () => {
    const counts = spreadCounts([[1, 4, 6], [0, 2]], 7, 2, 8);
    expect(counts).toEqual([
      [0, 5, 0, 0, 5, 0, 4, 0],
      [7, 0, 7, 0, 0, 0, 0, 0],
    ]);
    expect(counts.map((layer) => layer.reduce((s, n) => s + n, 0))).toEqual([14, 14]);
  });

  it('names each expert that computed tokens by its block', () => {
    expect(blockTokens([[2, 0, 1], [0, 4, 0]], (l, e) => `block-${l}-${e}`)).toEqual({ 'block-0-0': 2, 'block-0-2': 1, 'block-1-1': 4 });
  });
});

describe('usage reports from answers', () => {
  it('adds answers to the pending tally and takes off what a report carried', () => {
    const pending = addTokens(addTokens(new Map(), { a: 3, b: 5 }), { b: 2, c: 1 });
    expect([...pending]).toEqual([['a', 3], ['b', 7], ['c', 1]]);
    expect([...takeTokens(pending, [{ block: 'a', tokens: 3 }, { block: 'b', tokens: 4 }])]).toEqual([['b', 3], ['c', 1]]);
    expect([...pending]).toEqual([['a', 3], ['b', 7], ['c', 1]]);
  });

  it('cuts the tally into reports of at most maxEntries blocks and maxTokens tokens, a large block across reports', () => {
    const pending = new Map([['a', 4], ['b', 9], ['c', 2], ['d', 1]]);
    expect(splitReports(pending, { maxTokens: 6, maxEntries: 2 })).toEqual([
      [{ block: 'a', tokens: 4 }, { block: 'b', tokens: 2 }],
      [{ block: 'b', tokens: 6 }],
      [{ block: 'b', tokens: 1 }, { block: 'c', tokens: 2 }],
      [{ block: 'd', tokens: 1 }],
    ]);
    expect(splitReports(new Map(), { maxTokens: 6, maxEntries: 2 })).toEqual([]);
  });

  it('keeps every report within the limits, each block once per report, and loses no token', () => {
    const pending = new Map(Array.from({ length: 700 }, (_, i) => [`block${i}`, 1 + ((i * 7919) % 1000)] as const));
    const limits = { maxTokens: 5000, maxEntries: 256 };
    const reports = splitReports(pending, limits);
    for (const r of reports) {
      expect(r.length).toBeGreaterThan(0);
      expect(r.length).toBeLessThanOrEqual(limits.maxEntries);
      expect(new Set(r.map((e) => e.block)).size).toBe(r.length);
      expect(r.every((e) => Number.isSafeInteger(e.tokens) && e.tokens >= 1)).toBe(true);
      expect(r.reduce((s, e) => s + e.tokens, 0)).toBeLessThanOrEqual(limits.maxTokens);
    }
    const back = reports.flat().reduce((m, e) => addTokens(m, { [e.block]: e.tokens }), new Map<string, number>());
    expect(back).toEqual(pending);
    expect(reports.length).toBe(Math.ceil(total(pending) / limits.maxTokens));
  });

  it('writes the report text the relay parses', () => {
    const bind = { account: '0xabc', origin: 'http://localhost:5173' };
    expect(JSON.parse(reportText([{ block: 'a', tokens: 2 }], 1234, bind))).toEqual({ ...bind, created_at: 1234, experts: [{ block: 'a', tokens: 2 }] });
  });
});

/** A relay stand-in that answers each report with the next of `answers` and records what it got. */
function fakeRelay(answers: (UsageReceipt | Error)[]) {
  const got: { experts: UsageEntry[]; signature: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const accounts = {
    async reportUsage(report: string, signature: string): Promise<UsageReceipt> {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      const { experts } = JSON.parse(report) as { experts: UsageEntry[] };
      got.push({ experts, signature });
      const a = answers.shift() ?? { kind: 'recorded', id: String(got.length), tokens: experts.reduce((s, e) => s + e.tokens, 0), period: 0, counted: [], not_heads: [] };
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { accounts, got, maxInFlight: () => maxInFlight };
}

describe('UsageReporter', () => {
  const sign = async (m: string) => `signed:${m.length}`;
  const bind = { account: '0xabc', origin: 'http://localhost:5173' };

  it('sends one report at a time, waits out a rate limit, and signs every report', async () => {
    const relay = fakeRelay([{ kind: 'rate_limited', retryAfterMs: 3000 }]);
    const slept: number[] = [];
    const views: UsageView[] = [];
    const r = new UsageReporter(relay.accounts, { bind, sign, onChange: (v) => views.push(v), limits: { maxTokens: 10, maxEntries: 256 }, sleep: async (ms) => void slept.push(ms) });
    void r.record({ a: 8, b: 7 });
    await r.record({ c: 4 });
    expect(slept).toEqual([3000]);
    expect(relay.maxInFlight()).toBe(1);
    expect(relay.got.map((g) => g.experts)).toEqual([
      [{ block: 'a', tokens: 8 }, { block: 'b', tokens: 2 }],
      [{ block: 'a', tokens: 8 }, { block: 'b', tokens: 2 }],
      [{ block: 'b', tokens: 5 }, { block: 'c', tokens: 4 }],
    ]);
    expect(relay.got.every((g) => g.signature.startsWith('signed:'))).toBe(true);
    expect(views.at(-1)).toEqual({ reports: 2, tokens: 19, pending: 0, error: null });
  });

  it('keeps what an unreachable relay did not take for the next answer, and drops what the relay refused', async () => {
    const relay = fakeRelay([new RelayError(0, 'unreachable', 'relay is unreachable'), { kind: 'recorded', id: 'x', tokens: 5, period: 0, counted: [], not_heads: [] }, new RelayError(422, 'not_expert', 'not an expert block')]);
    const views: UsageView[] = [];
    const r = new UsageReporter(relay.accounts, { bind, sign, onChange: (v) => views.push(v) });
    await r.record({ a: 3 });
    expect(views.at(-1)).toMatchObject({ reports: 0, pending: 3, error: expect.stringContaining('kept for the next answer') });
    await r.record({ a: 2 });
    expect(relay.got.map((g) => g.experts)).toEqual([[{ block: 'a', tokens: 3 }], [{ block: 'a', tokens: 5 }]]);
    expect(views.at(-1)).toEqual({ reports: 1, tokens: 5, pending: 0, error: null });
    await r.record({ z: 9 });
    expect(views.at(-1)).toMatchObject({ reports: 1, pending: 0, error: expect.stringContaining('refused: not an expert block') });
    r.close();
    await r.record({ a: 1 });
    expect(relay.got).toHaveLength(3);
  });
});

/** A short pool period, so a test sees one end on the real clock. */
const POOL = { units: 10_000, periodMs: 1000 };
const nextPeriod = () => new Promise((r) => setTimeout(r, POOL.periodMs - (Date.now() % POOL.periodMs) + 5));
const counted = (f: AccountsFixture, account: string) => (f.relay.accounts.db.prepare('SELECT DISTINCT block FROM usage_counts WHERE account = ? ORDER BY block').all(account) as { block: string }[]).map((r) => r.block);

describe('a signed-in answer on the CPU reference, reported to a real relay', () => {
  let f: AccountsFixture;
  let cache: BlockCache;
  beforeAll(async () => {
    f = await accountsFixture({ now: Date.now, rateLimit: { max: 50, windowMs: 60_000 }, usagePool: POOL });
    cache = await BlockCache.open(1 << 24);
  });
  afterAll(async () => {
    await cache.close();
    await f.close();
  });

  it('claims exactly the tokens the reference routed to each expert block; the relay pays the genesis author the period’s pool and makes the hottest slot the next assignment', async () => {
    const me = await signIn(f);
    const posts: FromWorker[] = [];
    const session = new ModelSession(new RelayClient('http://relay.test', me.fetchImpl), f.meta, cache, (m) => posts.push(m), 'cpu', null);
    const prompt = 'It was';
    const maxTokens = 6;
    await session.answer({ id: 1, text: prompt, sampling: { temperature: 0, topK: 0, topP: 1, maxTokens, seed: 1 }, routing: 'dynamic' }, () => false);
    const done = posts.find((m) => m.type === 'done');
    if (done?.type !== 'done') throw new Error(`no answer: ${JSON.stringify(posts.filter((m) => m.type === 'error'))}`);
    const stats: AnswerStats = done.stats;

    // The oracle: the CPU reference's own greedy decode from the genesis blocks, every position's routing.
    const metaBlock = f.genesis.find((b) => blockHash(b.header) === f.meta)!;
    const { config: cfg, tokenizer } = parseMetaPayload(metaBlock.payload);
    const plans = new Map(slotPlan(cfg).map((s) => [s.name, s]));
    const params: ParamMap = Object.assign({}, ...f.genesis.filter((b) => plans.has(b.header.name)).map((b) => slotParams(plans.get(b.header.name)!, b.payload)));
    const tokens = Tokenizer.fromJSON(tokenizer).encode(prompt);
    expect(tokens.length + maxTokens).toBeLessThanOrEqual(cfg.contextLength);
    const greedy = greedyDecode(params, cfg, tokens, maxTokens).tokens;
    const eot = greedy.indexOf(Tokenizer.fromJSON(tokenizer).endOfTextId);
    const { state } = greedyDecode(params, cfg, tokens, eot < 0 ? maxTokens : eot + 1);
    const expected: Record<string, number> = {};
    for (const [l, positions] of state.routes.entries()) {
      for (const { experts } of positions) for (const e of experts) expected[f.slots[`layer${l}.expert${e}`]!] = (expected[f.slots[`layer${l}.expert${e}`]!] ?? 0) + 1;
    }
    expect(stats.expertTokens).toEqual(expected);
    expect(total(stats.expertTokens)).toBe(state.pos * cfg.nLayers * cfg.topK);

    const views: UsageView[] = [];
    const reporter = new UsageReporter(me.accounts, { bind: { account: me.account, origin: ORIGIN }, sign: (message) => me.key.signMessage({ message }), onChange: (v) => views.push(v) });
    await reporter.record(stats.expertTokens);
    expect(views.at(-1)).toEqual({ reports: 1, tokens: total(expected), pending: 0, error: null });

    const rows = f.relay.accounts.db.prepare('SELECT block, tokens FROM usage').all() as { block: string; tokens: number }[];
    expect(Object.fromEntries(rows.map((r) => [r.block, r.tokens]))).toEqual(expected);
    expect(counted(f, me.account)).toEqual(Object.keys(expected).sort());
    await nextPeriod();
    const history = await me.accounts.history(authority);
    expect(history.balance).toBe(POOL.units);
    expect(history.entries).toMatchObject([{ kind: 'usage', amount: POOL.units }]);
    expect((await me.accounts.leaderboard()).leaders).toEqual([{ address: authority, balance: POOL.units }]);

    const slotOf = new Map(Object.entries(f.slots).map(([slot, hash]) => [hash as string, slot]));
    const [hottest] = Object.entries(expected).sort(([a, x], [b, y]) => y - x || slotOf.get(a)!.localeCompare(slotOf.get(b)!));
    expect(await me.accounts.assignment()).toMatchObject({ reason: 'hot', slot: slotOf.get(hottest![0]) });
  });

  it('splits a tally over the relay’s limit into reports the relay records one by one, each block counted once', async () => {
    const me = await signIn(f);
    const tally = { [f.slots['layer0.expert0']!]: 7, [f.slots['layer1.expert1']!]: 4, [f.slots['layer1.expert2']!]: 2 };
    const views: UsageView[] = [];
    const reporter = new UsageReporter(me.accounts, { bind: { account: me.account, origin: ORIGIN }, sign: (message) => me.key.signMessage({ message }), onChange: (v) => views.push(v), limits: { maxTokens: 5, maxEntries: 256 } });
    await reporter.record(tally);
    expect(views.at(-1)).toEqual({ reports: 3, tokens: 13, pending: 0, error: null });
    expect(counted(f, me.account)).toEqual(Object.keys(tally).sort());
  });
});

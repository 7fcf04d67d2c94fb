import { AccountsClient, type Fetch, RelayClient } from '@blyan/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, accountsFixture, clock, login } from '../../../relay/test/accounts-helpers.ts';
import { acceptedDataset, prose, testDataConfig } from '../../../relay/test/data-helpers.ts';
import { DEFAULT_ROUNDS } from '../../../relay/src/rounds/config.ts';
import { ReplayBatches, ShardBatches, replaySteps, unitBatches } from '../src/contribute/batches.ts';
import { type PauseReason, TrainingGate } from '../src/contribute/gate.ts';
import type { FromContributor } from '../src/contribute/protocol.ts';
import { type RoundContext, contributeRound } from '../src/contribute/round.ts';
import { signIn } from './signed-in.ts';

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('TrainingGate: inference first', () => {
  it('lets micro-steps run only while on, not answering, and visible when asked to pause when hidden', async () => {
    const seen: (PauseReason | null)[] = [];
    const gate = new TrainingGate((r) => seen.push(r));
    expect(await gate.turn()).toBe(false);
    gate.set({ on: true });
    expect(await gate.turn()).toBe(true);
    gate.set({ answering: true });
    let went = false;
    const waiting = gate.turn().then((go) => (went = go));
    await settle();
    expect(went).toBe(false);
    gate.set({ hidden: true });
    gate.set({ answering: false });
    await settle();
    expect(went).toBe(false);
    gate.set({ pauseWhenHidden: false });
    await waiting;
    expect(went).toBe(true);
    gate.set({ answering: true });
    const stopped = gate.turn();
    gate.set({ on: false });
    expect(await stopped).toBe(false);
    expect(seen).toEqual([null, 'answering', 'answering', 'hidden', null, 'answering', 'off']);
  });
});

describe('ShardBatches', () => {
  it('cuts [B, T] inputs and next-token targets from the stream, different text per micro-step', () => {
    const b = new ShardBatches(Int32Array.from({ length: 50 }, (_, i) => i), 2, 4);
    const s0 = b.at(0);
    expect(s0.inputs).toHaveLength(8);
    expect(s0.targets).toEqual(s0.inputs.map((t) => t + 1));
    expect(b.at(1).inputs).not.toEqual(s0.inputs);
    expect(() => new ShardBatches(new Int32Array(5), 1, 4)).toThrow('the shard has 5 tokens, too few for sequences of 4');
  });
});

describe('ReplayBatches: a dataset unit rehearsing a genesis train shard', () => {
  // Two streams told apart by their tokens: the unit's own shard below 1000, the replay shard above.
  const own = new ShardBatches(Int32Array.from({ length: 300 }, (_, i) => i), 2, 8);
  const old = new ShardBatches(Int32Array.from({ length: 300 }, (_, i) => 1000 + i), 2, 8);
  const source = (b: { inputs: number[] }) => (b.inputs.every((t) => t >= 1000) ? 'replay' : b.inputs.every((t) => t < 1000) ? 'own' : 'mixed');

  it('trains the stated share of micro-steps on the replay shard, spread evenly, each shard read in its own order', () => {
    const b = new ReplayBatches(own, old, 0.25);
    const steps = Array.from({ length: 16 }, (_, i) => b.at(i));
    expect(steps.map(source)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? 'replay' : 'own')));
    expect(steps.filter((x) => source(x) === 'replay')).toEqual([0, 1, 2, 3].map((i) => old.at(i)));
    expect(steps.filter((x) => source(x) === 'own')).toEqual(Array.from({ length: 12 }, (_, i) => own.at(i)));
    // Any first n micro-steps hold ⌊n · fraction⌋ replay steps, for fractions that are not binary fractions too.
    for (const fraction of [0.1, 0.29, 0.5, 0.75]) {
      const r = new ReplayBatches(own, old, fraction);
      for (const n of [1, 7, 16, 100]) expect(Array.from({ length: n }, (_, i) => source(r.at(i))).filter((x) => x === 'replay').length).toBe(replaySteps(n, fraction));
    }
    expect(replaySteps(100, 0.29)).toBe(29);
  });

  it('refuses a fraction outside (0, 1); a unit without replay trains on its own shard alone', () => {
    for (const bad of [0, 1, -0.5, Number.NaN]) expect(() => new ReplayBatches(own, old, bad)).toThrow('a replay fraction is above 0 and below 1');
    const alone = unitBatches(Int32Array.from({ length: 300 }, (_, i) => i), null, 2, 8);
    expect(Array.from({ length: 16 }, (_, i) => alone.at(i))).toEqual(Array.from({ length: 16 }, (_, i) => own.at(i)));
    const mixed = unitBatches(Int32Array.from({ length: 300 }, (_, i) => i), { stream: Int32Array.from({ length: 300 }, (_, i) => 1000 + i), fraction: 0.5 }, 2, 8);
    expect(Array.from({ length: 4 }, (_, i) => source(mixed.at(i)))).toEqual(['own', 'replay', 'own', 'replay']);
  });
});

describe('a work unit of a round on the CPU reference against a real relay', () => {
  let f: AccountsFixture;
  let ctx: RoundContext;
  const posts: FromContributor[] = [];
  const units = () => posts.flatMap((m) => (m.type === 'unit' ? [m.unit] : []));
  beforeAll(async () => {
    // As the relay's own round tests, the tiny model's experts need more than 10 % of their norm to
    // move its loss; one contributor fills a round (so it is judged at once), H = 20; the relay
    // runs on the real clock.
    f = await accountsFixture({
      maxRelativeNorm: 10,
      now: Date.now,
      rounds: { ...DEFAULT_ROUNDS, contributors: 1, steps: 20, windows: 64, scoreWindows: 64, outer: { lr: 1, momentum: 0.9 }, screen: { ...DEFAULT_ROUNDS.screen, own: { confidence: 0.95, margin: 0 } } },
    });
    // The browser's own message (viem's SIWE module), checked by the relay with `siwe`.
    const { accounts, key, account, message, session, fetchImpl } = await signIn(f);
    expect(message).toContain(`urn:blyan:session-key:${key.address.toLowerCase()}`);
    expect(session).toMatchObject({ account, session_key: key.address.toLowerCase() });
    const gate = new TrainingGate();
    gate.set({ on: true });
    ctx = {
      relay: new RelayClient('http://relay.test', fetchImpl),
      pin: f.meta,
      accounts,
      device: null,
      signer: key,
      account,
      settings: { batch: 4, seqLen: 16, lr: 5e-3, density: 1, pauseWhenHidden: true, dataset: '' },
      gate,
      post: (m) => {
        posts.push(m);
        // A prompt arrives during the first micro-step: training must wait until the answer is done.
        if (m.type === 'step' && m.step === 0 && m.round === 1) {
          gate.set({ answering: true });
          setTimeout(() => {
            posts.push({ type: 'status', text: 'answer done' });
            gate.set({ answering: false });
          }, 100);
        }
      },
      model: null,
    };
  });
  afterAll(() => f.close());

  it('trains the unit’s expert for the round’s H, pauses for an answer within one micro-step, sends the delta and shows the round’s verdict, its own score and credit', async () => {
    expect(await contributeRound(ctx, 0)).toBe(true);
    const kinds = posts.filter((m) => m.type === 'step' || (m.type === 'status' && m.text === 'answer done')).map((m) => (m.type === 'step' ? m.step : 'answer'));
    expect(kinds).toEqual([0, 'answer', ...Array.from({ length: 19 }, (_, i) => i + 1)]);
    const seen = units();
    expect(seen.map((u) => u.state)).toEqual(expect.arrayContaining(['training', 'submitting', 'accepted']));
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ round: 1, state: 'accepted', steps: 20, dataset: null, own: { status: 'kept' }, info: { status: 'accepted', contributors: 1, deltas: 1 } });
    expect(last.own!.credit).toBeGreaterThan(0);
    expect(last.own!.credit).toBe(last.info!.credit);
    expect(last.size!.ratio).toBeGreaterThan(1);
    expect((await ctx.relay.params()).slots[last.slot]).toBe(last.info!.block);
    expect((await ctx.accounts.history(ctx.account)).entries).toContainEqual(expect.objectContaining({ kind: 'round', ref: '1', amount: last.own!.credit }));
  });

  it('goes on through a round that closed before its delta arrived: the unit ends unsent, and the next asks for a new unit', async () => {
    posts.length = 0;
    const gate = new TrainingGate();
    gate.set({ on: true });
    let closed: Promise<unknown> | null = null;
    const closing: RoundContext = {
      ...ctx,
      gate,
      post: (m) => {
        posts.push(m);
        // The round is judged (with no delta) while this browser trains.
        if (m.type === 'step' && m.step === 0) closed ??= f.relay.accounts.rounds.close(m.round);
      },
    };
    expect(await contributeRound(closing, 1)).toBe(true);
    await closed;
    const first = units().at(-1)!;
    expect(first).toMatchObject({ state: 'unsent', note: expect.stringContaining('ask for a new work unit') });
    expect(await f.relay.accounts.roundStore.round(first.round)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^no_deltas/) });
    posts.length = 0;
    expect(await contributeRound(ctx, 2)).toBe(true);
    const next = units().at(-1)!;
    expect(next.round).toBeGreaterThan(first.round);
    expect(['accepted', 'rejected']).toContain(next.state);
  });
});

describe('a work unit of a round on a dataset: the worker replays a genesis train shard', () => {
  it('fetches the unit’s dataset shard and its replay shard of the train split, and trains the round’s H on them', async () => {
    const f = await accountsFixture({
      maxRelativeNorm: 10,
      rounds: { ...DEFAULT_ROUNDS, contributors: 1, steps: 8, windows: 64, scoreWindows: 64, outer: { lr: 1, momentum: 0.9 }, screen: { ...DEFAULT_ROUNDS.screen, own: { confidence: 0.95, margin: 0 } } },
      data: testDataConfig({ hiddenFraction: 0.25 }),
    });
    // The fixture's settable clock, a minute ahead of the real one: the uploader and reviewers sign in
    // by it, the browser by the real clock (its SIWE message must not be issued after the relay's now).
    clock.now = Date.now() + 60_000;
    try {
      await acceptedDataset(f, await login(f.app), Array.from({ length: 40 }, (_, i) => prose(500 + i, 8)), 'tales');
      const { key, account, fetchImpl } = await signIn(f);
      const paths: string[] = [];
      const logged: Fetch = (url, init) => {
        paths.push(new URL(url).pathname);
        return fetchImpl(url, init);
      };
      const posts: FromContributor[] = [];
      const gate = new TrainingGate();
      gate.set({ on: true });
      const ctx: RoundContext = {
        relay: new RelayClient('http://relay.test', fetchImpl),
        pin: f.meta,
        accounts: new AccountsClient('http://relay.test', logged),
        device: null,
        signer: key,
        account,
        settings: { batch: 4, seqLen: 16, lr: 5e-3, density: 1, pauseWhenHidden: true, dataset: 'tales' },
        gate,
        post: (m) => posts.push(m),
        model: null,
      };
      expect(await contributeRound(ctx, 0)).toBe(true);
      const unit = posts.flatMap((m) => (m.type === 'unit' ? [m.unit] : [])).at(-1)!;
      expect(unit).toMatchObject({ dataset: 'tales', steps: 8 });
      expect(['accepted', 'rejected']).toContain(unit.state);
      expect(paths).toContainEqual(expect.stringMatching(new RegExp(`^/v1/datasets/tales/versions/[0-9a-f]{64}/shards/${unit.shard.index}$`)));
      expect(paths.filter((p) => /^\/v1\/shards\/\d+$/.test(p))).toHaveLength(1);
      const share = Math.round(DEFAULT_ROUNDS.dataset.replay * 100);
      expect(posts).toContainEqual({ type: 'status', text: expect.stringMatching(new RegExp(` of tales and train shard \\d+ of \\d+ to rehearse \\(${share} % of micro-steps\\)$`)) });
      expect(posts.filter((m) => m.type === 'step')).toHaveLength(8);
    } finally {
      await f.close();
    }
  });
});

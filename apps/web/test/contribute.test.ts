import { AccountsClient, type Assignment, type Fetch, RelayClient } from '@blyan/client';
import type { Hash } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, accountsFixture } from '../../../relay/test/accounts-helpers.ts';
import { ShardBatches } from '../src/contribute/batches.ts';
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

/** The relay's assignment, but naming `base` as its base (as a tab that fetched it before the head moved). */
class StaleBase extends AccountsClient {
  constructor(
    fetchImpl: Fetch,
    private readonly staleBase: Hash,
  ) {
    super('http://relay.test', fetchImpl);
  }

  override async assignment(): Promise<Assignment> {
    return { ...(await super.assignment()), base: this.staleBase };
  }
}

describe('a contribution round on the CPU reference against a real relay', () => {
  let f: AccountsFixture;
  let ctx: RoundContext;
  const posts: FromContributor[] = [];
  beforeAll(async () => {
    // As the relay's own contribution tests, the tiny model's experts need more than 10 % of their
    // norm to move its loss; the relay runs on the real clock, as the blocks' created_at does.
    f = await accountsFixture({ maxRelativeNorm: 10, now: Date.now });
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
      settings: { steps: 20, batch: 4, seqLen: 16, lr: 5e-3, density: 1, pauseWhenHidden: true },
      gate,
      post: (m) => {
        posts.push(m);
        // A prompt arrives during the first micro-step: training must wait until the answer is done.
        if (m.type === 'step' && m.step === 0) {
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

  it('trains the assigned expert, pauses for an answer within one micro-step, submits a signed delta and gets the verdict', async () => {
    expect(await contributeRound(ctx, 0)).toBe(true);
    const kinds = posts.filter((m) => m.type === 'step' || (m.type === 'status' && m.text === 'answer done')).map((m) => (m.type === 'step' ? m.step : 'answer'));
    expect(kinds).toEqual([0, 'answer', ...Array.from({ length: 19 }, (_, i) => i + 1)]);
    const subs = posts.flatMap((m) => (m.type === 'submission' ? [m.submission] : []));
    expect(subs[0]!.state).toBe('submitting');
    const last = subs.at(-1)!;
    expect(last.reason).toBeNull();
    expect(last.state).toBe('accepted');
    expect(last.improvement).toBeGreaterThanOrEqual(1e-4);
    expect(last.size.ratio).toBeGreaterThan(1);
    const heads = await ctx.relay.params();
    expect(heads.slots[last.slot]).toBe(last.block);
    expect((await ctx.relay.block(last.block)).header.author).toBe(ctx.account);
  });

  it('rebases on the new head when its base went stale (409) and resubmits', async () => {
    const a = posts.find((m) => m.type === 'assignment')!;
    if (a.type !== 'assignment') throw new Error('no assignment');
    posts.length = 0;
    // Another account assigned the same slot (slots are assigned in turn), whose tab still has the old head as base.
    let other = await signIn(f);
    while ((await other.accounts.assignment()).slot !== a.assignment.slot) other = await signIn(f);
    const stale = new StaleBase(other.fetchImpl, a.assignment.base);
    expect(await contributeRound({ ...ctx, accounts: stale, signer: other.key, account: other.account }, 1)).toBe(true);
    const subs = posts.flatMap((m) => (m.type === 'submission' ? [m.submission] : []));
    expect(posts.some((m) => m.type === 'status' && m.text.includes('has a newer head: rebasing'))).toBe(true);
    expect(subs.at(-1)!.rebases).toBe(1);
    expect(['accepted', 'rejected']).toContain(subs.at(-1)!.state);
    expect(subs.at(-1)!.base).not.toBe(a.assignment.base);
  });
});

import type { Hash } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import type { UnitView } from '../src/contribute/protocol.ts';
import { plainVerdict } from '../src/contribute/verdict-text.ts';

const base: UnitView = {
  round: 7, slot: 'layer0.expert3', dataset: 'tales', base: 'a'.repeat(64) as Hash, steps: 16, shard: { index: 0, of: 4 }, state: 'waiting',
  size: { rawBytes: 294912, encodedBytes: 40000, ratio: 7.4, entries: 1000 }, own: { status: 'submitted', improvement: null, credit: null },
  info: { status: 'open', reason: null, block: null, improvement: null, lower: null, credit: null, genesis: null, contributors: 8, closes_at: 0, deltas: 3 }, note: null,
};
const decided = (status: 'accepted' | 'rejected', reason: string | null, own: UnitView['own']): UnitView => ({
  ...base, state: status, own, info: { ...base.info!, status, reason, block: 'b'.repeat(64) as Hash, improvement: 0.0123, lower: 0.004, credit: 500 },
});

describe('a round verdict in plain words', () => {
  it('says a kept round with how much it improved, this browser’s own part and its credit', () => {
    const v = plainVerdict(decided('accepted', null, { status: 'kept', improvement: 0.21, credit: 120 }));
    expect(v).toEqual({ tone: 'good', headline: 'Round 7 was kept: the averaged update improved layer0.expert3 on held-out text by 0.01230 nats/token. Your delta was kept in the average (it lowered the loss on its sample by 0.2100 nats/token); you earned 120 credits.', advice: null });
  });

  it('says a refused round without protocol codes, tells the genesis guard apart, and says the browser goes on', () => {
    const worse = plainVerdict(decided('rejected', 'genesis_worse: dataset tales held-out loss …', { status: 'kept', improvement: 0.1, credit: 0 }));
    expect(worse.tone).toBe('bad');
    expect(worse.headline).toContain('made the model worse on its original text than allowed');
    expect(worse.headline).not.toContain('genesis_worse');
    expect(worse.advice).toBe('This browser goes on with the next work unit.');
    expect(plainVerdict(decided('rejected', 'no_improvement: …', { status: 'hurt', improvement: -0.01, credit: 0 })).headline).toBe(
      'Round 7 was not kept: the averaged update did not make the expert surely better on held-out text. Your delta was dropped: on its own it did not surely lower the loss on its sample by the margin the relay asks for. Nothing was credited.',
    );
    expect(plainVerdict(decided('rejected', 'all_dropped: …', { status: 'copy', improvement: 0.1, credit: 0 })).headline).toContain('dropped as a copy');
  });

  it('shows the waiting states as waiting, with how full the round is', () => {
    expect(plainVerdict(base)).toMatchObject({ tone: 'waiting', headline: expect.stringContaining('(3 of 8 deltas in)') });
    expect(plainVerdict({ ...base, state: 'training' }).tone).toBe('waiting');
    expect(plainVerdict({ ...base, state: 'unsent', note: 'round 7 is rejected' }).tone).toBe('bad');
  });
});

describe('the contribute status line', () => {
  it('follows the switch: unticked it never shows training, and says stopping until the worker stopped', async () => {
    const { contributeStatus } = await import('../src/contribute/status-text.ts');
    const training = 'training layer0.expert3 on WebGPU: micro-step 1 of 16';
    expect(contributeStatus({ on: true, running: true, paused: null, status: training }, true)).toBe(training);
    expect(contributeStatus({ on: false, running: true, paused: 'off', status: training }, true)).toMatch(/^Stopping/);
    expect(contributeStatus({ on: false, running: false, paused: 'off', status: training }, true)).toMatch(/^Off\. Tick/);
    expect(contributeStatus({ on: false, running: false, paused: 'off', status: 'off' }, false)).toMatch(/^Off\. Sign in/);
    expect(contributeStatus({ on: true, running: true, paused: 'answering', status: training }, true)).toBe('Paused: answering your prompt first.');
  });
});

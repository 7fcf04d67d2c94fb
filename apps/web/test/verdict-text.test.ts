import type { Hash } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import type { SubmissionView } from '../src/contribute/protocol.ts';
import { plainVerdict } from '../src/contribute/verdict-text.ts';

const base: SubmissionView = {
  round: 0, slot: 'layer0.expert3', block: 'b'.repeat(64) as Hash, base: 'a'.repeat(64) as Hash, id: 7, state: 'queued', rebases: 0,
  size: { rawBytes: 294912, encodedBytes: 40000, ratio: 7.4, entries: 1000 }, improvement: null, reason: null, code: null, figures: null, credit: null,
};
const figures = (baseline: number, candidate: number) => ({ baseline, candidate, improvement: baseline - candidate, tokens: 4096, ms: 900 });

describe('a contribution verdict in plain words', () => {
  it('says a refusal for too small a gain without protocol codes, with the bar and what would help', () => {
    const v = plainVerdict({ ...base, state: 'rejected', code: 'no_improvement', reason: 'no_improvement: hidden loss 3.70903 → 3.70902 nats/token; δ is 0.002', figures: figures(3.70903, 3.70902) }, 0.002, 16);
    expect(v.tone).toBe('bad');
    expect(v.headline).toBe('Not kept: your update did not make the expert better enough. It must lower the loss on held-out text by at least 0.002 nats/token; yours changed it by 0.00001.');
    expect(v.headline).not.toContain('no_improvement');
    expect(v.advice).toContain('more micro-steps per submission (now 16)');
  });

  it('says an acceptance with how much better and the credit earned', () => {
    const v = plainVerdict({ ...base, state: 'accepted', credit: 12, improvement: 0.0037, figures: figures(3.7, 3.6963) }, 0.002, 16);
    expect(v).toEqual({ tone: 'good', headline: 'Kept: your update improved this expert (it got 0.100 % better at predicting held-out text). You earned 12 credits.', advice: null });
  });

  it('tells a lost race and a failed evaluation apart from a bad update, and the waiting states as waiting', () => {
    expect(plainVerdict({ ...base, state: 'rejected', code: 'stale_base' }, 0.002, 16).advice).toContain('next round starts from the new version');
    expect(plainVerdict({ ...base, state: 'rejected', code: 'evaluation_failed' }, 0.002, 16).headline).toBe('Not judged: the relay could not evaluate your update.');
    expect(plainVerdict(base, 0.002, 16).tone).toBe('waiting');
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

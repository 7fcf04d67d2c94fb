import { describe, expect, it } from 'vitest';
import { aggregate, combine, cosine, outerStep, roundCredit, screen } from '../src/index.ts';
import { normal, randomVector, submission, uniform } from './fixtures.ts';

const OPTS = { maxCosine: 0.99, own: { confidence: 0.95, margin: 0 }, lr: 0.7, momentum: 0.9 };
const g = normal(uniform(7));
const change = () => ({ w1: randomVector(500, 0.01, g), w2: randomVector(300, 0.01, g) });

describe('screen', () => {
  it('keeps changes that lower their own loss, drops those that do not, and names copies by hash or direction', () => {
    const a = change();
    const b = change();
    const round = [
      submission('1', a, 3.0, 2.9),
      submission('2', b, 3.0, 3.1),
      submission('3', change(), 3.0, 2.95, `0x${'1'.padStart(64, '0')}`),
      submission('4', combine([a], [2]), 3.0, 2.8),
      submission('5', combine([b], [-1]), 3.0, 2.9),
    ];
    const s = screen(round, [], OPTS);
    expect(s.map((x) => x.status)).toEqual(['kept', 'hurt', 'copy', 'copy', 'kept']);
    expect(s[2]).toMatchObject({ copyOf: '1' });
    expect(s[3]).toMatchObject({ copyOf: '1' });
  });

  it('catches a resubmission of an update from an earlier round, also with a little noise added', () => {
    const old = change();
    const noisy = combine([old, change()], [1, 0.05]);
    expect(cosine(old, noisy)).toBeGreaterThan(0.99);
    const s = screen([submission('9', noisy, 3, 2.9)], [{ id: 'old', hash: submission('old', old, 0, 0).hash, change: old }], OPTS);
    expect(s[0]).toMatchObject({ status: 'copy', copyOf: 'old' });
  });

  it('drops a change with a non-finite score, and one whose gain on its own sample is within the noise', () => {
    expect(screen([submission('1', change(), 3, Number.NaN)], [], OPTS)[0]!.status).toBe('hurt');
    const lucky = { ...submission('2', change(), 3, 3), after: [3.29, 2.81, 3.08, 2.81] };
    expect(screen([lucky], [], OPTS)[0]).toMatchObject({ status: 'hurt', improvement: expect.closeTo(0.0025, 6) });
  });
});

describe('aggregate', () => {
  it('a dropped or copied delta has no effect on the outer step', () => {
    const a = submission('1', change(), 3, 2.9);
    const b = submission('2', change(), 3, 2.95);
    const hurt = submission('3', combine([change()], [50]), 3, 3.5);
    const copy = submission('4', combine([a.change], [3]), 3, 2.5);
    const state = { momentum: change() };
    const honest = aggregate([a, b], [], state, OPTS);
    const attacked = aggregate([a, hurt, b, copy], [], state, OPTS);
    expect(attacked.screened.map((s) => s.status)).toEqual(['kept', 'hurt', 'kept', 'copy']);
    expect(attacked.outer).toEqual(honest.outer);
  });

  it('takes the Nesterov step on the mean change and carries the momentum', () => {
    const a = submission('1', { w: Float32Array.of(1, 0) }, 3, 2.9);
    const b = submission('2', { w: Float32Array.of(0, 1) }, 3, 2.9);
    const first = aggregate([a, b], [], null, OPTS).outer!;
    expect([...first.step.w!]).toEqual([0.5 * 0.7 * 1.9, 0.5 * 0.7 * 1.9].map(Math.fround));
    const second = outerStep({ w: Float32Array.of(1, 1) }, first.state, OPTS);
    const v = 0.9 * 0.5 + 1;
    expect([...second.state.momentum.w!]).toEqual([v, v].map(Math.fround));
    expect(second.step.w![0]).toBeCloseTo(0.7 * (1 + 0.9 * v), 6);
  });

  it('has no outer step when every submission is dropped', () => {
    expect(aggregate([submission('1', change(), 3, 3.1)], [], null, OPTS).outer).toBeNull();
  });
});

describe('roundCredit', () => {
  it('pays kept submissions in proportion to their own improvement and nothing to dropped or copied ones', () => {
    const a = change();
    const s = screen([submission('1', a, 3, 2.9), submission('2', change(), 3, 3.1), submission('3', a, 3, 2.0), submission('4', change(), 3, 2.7)], [], OPTS);
    expect(roundCredit(s, 1000).map((c) => c.credit)).toEqual([250, 0, 0, 750]);
  });
});

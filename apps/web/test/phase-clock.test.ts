import { describe, expect, it } from 'vitest';
import { PhaseClock, coveredMs } from '../src/worker/phase-clock.ts';

describe('coveredMs', () => {
  it('counts overlapping spans once and gaps not at all', () => {
    expect(coveredMs([[0, 10], [5, 15], [20, 30]])).toBe(25);
    expect(coveredMs([[20, 30], [0, 10], [2, 3]])).toBe(20);
    expect(coveredMs([])).toBe(0);
  });

  it('clips spans at `until`', () => {
    expect(coveredMs([[0, 10], [20, 30]], 25)).toBe(15);
    expect(coveredMs([[30, 40]], 25)).toBe(0);
  });
});

describe('PhaseClock', () => {
  it('sums each phase as wall time, parallel spans once, failed calls included', async () => {
    let t = 0;
    const clock = new PhaseClock(() => t);
    const step = (phase: string, start: number, end: number) => clock.add(phase, start, end);
    step('network', 0, 40);
    step('network', 10, 50);
    clock.timeSync('probe', () => {
      t = 7;
    });
    await expect(
      clock.time('upload', async () => {
        t = 12;
        throw new Error('lost');
      }),
    ).rejects.toThrow('lost');
    expect(clock.totals()).toEqual({ network: 50, probe: 7, upload: 5 });
    expect(clock.totals(30)).toEqual({ network: 30, probe: 7, upload: 5 });
  });
});

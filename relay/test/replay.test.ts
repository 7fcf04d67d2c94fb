import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { replayFractionError, unitReplay } from '../src/rounds/replay.ts';

const docs = Array.from({ length: 37 }, (_, i) => ({ id: `d${String(i).padStart(2, '0')}`, text: `document ${i}` }));
const url = (i: number) => `/v1/shards/${i}`;

describe('unitReplay: the train shard a dataset work unit rehearses', () => {
  it('is shard (unit id mod shards) of the train split at the given fraction, hashed as GET /v1/shards/:index serves it', () => {
    const r = unitReplay(0.25, 13, docs, 8, url)!;
    expect(r).toMatchObject({ fraction: 0.25, shard: { index: 3, of: 5, docs: { from: 24, to: 32 }, split: 'train', url: '/v1/shards/3' } });
    const body = JSON.stringify({ index: 3, of: 5, docs: docs.slice(24, 32) });
    expect(r.shard.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(unitReplay(0.25, 4, docs, 8, url)!.shard).toMatchObject({ index: 4, docs: { from: 32, to: 37 } });
  });

  it('is none at fraction 0 or with no train split, and refuses a fraction outside [0, 1)', () => {
    expect(unitReplay(0, 13, docs, 8, url)).toBeNull();
    expect(unitReplay(0.25, 13, [], 8, url)).toBeNull();
    for (const bad of [1, 1.5, -0.1, Number.NaN]) {
      expect(replayFractionError(bad)).toBe(`a replay fraction is at least 0 and below 1, got ${bad}`);
      expect(() => unitReplay(bad, 13, docs, 8, url)).toThrow('a replay fraction is at least 0 and below 1');
    }
  });
});

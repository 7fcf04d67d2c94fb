import type { Hash } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import { AccountsClient, type RoundUnit } from '../src/index.ts';

const hash = (c: string) => c.repeat(64) as Hash;
const shard = { index: 2, of: 43, docs: { from: 16, to: 24 }, sha256: hash('a'), split: 'train' as const, url: '/v1/shards/2' };
const UNIT: RoundUnit = {
  round: 7,
  meta: hash('b'),
  dataset: 'spam',
  slot: 'layer2.expert10',
  base: hash('c'),
  steps: 16,
  shard: { ...shard, split: 'public', url: `/v1/datasets/spam/versions/${hash('d')}/shards/5` },
  replay: { fraction: 0.25, shard },
  rules: { max_relative_norm: 0.1, max_density: 0.1 },
};

/** A client whose relay answers GET /v1/rounds/unit with `unit` as sent. */
const answering = (unit: unknown) => new AccountsClient('http://relay.test', async () => new Response(JSON.stringify(unit), { status: 200, headers: { 'content-type': 'application/json' } }));

describe('AccountsClient.roundUnit: the replay a unit carries', () => {
  it('takes a unit with a replay shard and fraction, and reads a unit without one as no replay', async () => {
    expect(await answering(UNIT).roundUnit('spam')).toEqual(UNIT);
    expect(await answering({ ...UNIT, replay: null }).roundUnit('spam')).toEqual({ ...UNIT, replay: null });
    const { replay: _, ...older } = UNIT;
    expect(await answering(older).roundUnit('spam')).toEqual({ ...UNIT, replay: null });
  });

  it('refuses a replay whose fraction is not above 0 and below 1, or that names no shard to fetch', async () => {
    for (const replay of [{ fraction: 1, shard }, { fraction: 0, shard }, { fraction: -0.25, shard }, { fraction: '0.25', shard }, { fraction: 0.25 }, { fraction: 0.25, shard: { ...shard, sha256: 5 } }]) {
      await expect(answering({ ...UNIT, replay }).roundUnit('spam')).rejects.toThrow("the work unit's replay is not a fraction above 0 and below 1 with a shard to fetch");
    }
  });
});

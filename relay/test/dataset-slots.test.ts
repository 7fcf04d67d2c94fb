import { initParams } from '@blyan/model';
import { expertSlotName } from '@blyan/model/blocks';
import { routingCounts } from '@blyan/model/grow';
import { describe, expect, it } from 'vitest';
import { datasetSlots } from '../src/rounds/dataset-slots.ts';
import { TINY } from './helpers.ts';

const params = initParams(TINY, 11);
const stream = (offset: number) => Int32Array.from({ length: 4 * TINY.contextLength + 1 }, (_, i) => offset + ((i * 37 + (i >> 2)) % 100));
const [dataset, genesis] = [stream(0), stream(180)];

/** Share of each slot's layer's picks on `s`. */
function shares(s: Int32Array): Map<string, number> {
  const out = new Map<string, number>();
  routingCounts(params, TINY, s, 4).forEach((counts, l) => counts.forEach((n, e) => out.set(expertSlotName(l, e), n / counts.reduce((a, b) => a + b, 0))));
  return out;
}

describe('datasetSlots', () => {
  it('ranks expert slots by their share of the router\'s picks on the dataset minus their share on the genesis pool', () => {
    const [mine, theirs] = [shares(dataset), shares(genesis)];
    const score = (slot: string) => mine.get(slot)! - theirs.get(slot)!;
    const slots = datasetSlots(params, TINY, dataset, genesis, TINY.nLayers * TINY.nExperts, 4);
    expect(new Set(slots).size).toBe(TINY.nLayers * TINY.nExperts);
    for (let i = 1; i < slots.length; i++) expect(score(slots[i - 1]!)).toBeGreaterThanOrEqual(score(slots[i]!));
    expect(score(slots[0]!)).toBeGreaterThan(0);
    expect(datasetSlots(params, TINY, dataset, genesis, 2, 4)).toEqual(slots.slice(0, 2));
  });

  it('has no preference for text routed as the genesis pool is: ties go to the slot name', () => {
    expect(datasetSlots(params, TINY, genesis, genesis, 3, 4)).toEqual(['layer0.expert0', 'layer0.expert1', 'layer0.expert2']);
  });
});

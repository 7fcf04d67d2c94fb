import { initParams } from '@blyan/model';
import { expertSlotName } from '@blyan/model/blocks';
import { routingCounts } from '@blyan/model/grow';
import { describe, expect, it } from 'vitest';
import { datasetSlots } from '../src/rounds/dataset-slots.ts';
import { TINY } from './helpers.ts';

const params = initParams(TINY, 11);
const stream = Int32Array.from({ length: 4 * TINY.contextLength + 1 }, (_, i) => (i * 37 + (i >> 2)) % 100);

describe('datasetSlots', () => {
  it('ranks expert slots by their share of their layer\'s router picks on the dataset\'s text, most first', () => {
    const share = new Map<string, number>();
    routingCounts(params, TINY, stream, 4).forEach((counts, l) => counts.forEach((n, e) => share.set(expertSlotName(l, e), n / counts.reduce((a, b) => a + b, 0))));
    const slots = datasetSlots(params, TINY, stream, TINY.nLayers * TINY.nExperts, 4);
    expect(new Set(slots)).toEqual(new Set(share.keys()));
    for (let i = 1; i < slots.length; i++) expect(share.get(slots[i - 1]!)).toBeGreaterThanOrEqual(share.get(slots[i]!)!);
    expect(share.get(slots[0]!)).toBe(Math.max(...share.values()));
    expect(datasetSlots(params, TINY, stream, 2, 4)).toEqual(slots.slice(0, 2));
  });

  it('breaks ties by slot name: a stream whose every window routes alike in both layers', () => {
    const flat = { ...params, 'layers.0.router': new Float32Array(params['layers.0.router']!.length), 'layers.1.router': new Float32Array(params['layers.1.router']!.length) };
    expect(datasetSlots(flat, TINY, stream, 2, 4)).toEqual(['layer0.expert0', 'layer0.expert1']);
  });
});

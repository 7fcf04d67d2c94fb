import { describe, expect, it } from 'vitest';
import { DatasetPayloadError, decodeDatasetPayload, docHash, encodeDatasetPayload, inflatedSize, packParts, splitDocuments, joinDocuments, tierOf } from '../src/index.ts';
import { prose } from './fixtures.ts';

const doc = (seed: number) => ({ sha256: docHash(prose(seed)), tier: 'gold' as const, bpb: 2.5, overlap: 0.1, text: prose(seed) });

describe('dataset-v1 payloads', () => {
  it('round-trips and compresses', () => {
    const p = { v: 1 as const, docs: Array.from({ length: 20 }, (_, i) => doc(i)) };
    const bytes = encodeDatasetPayload(p);
    expect(decodeDatasetPayload(bytes)).toEqual(p);
    expect(bytes.length).toBeLessThan(inflatedSize(bytes) / 2);
  });

  it('refuses a document not at its address, a repeated address, and bytes that are not DEFLATE JSON', () => {
    const tampered = { v: 1 as const, docs: [{ ...doc(1), text: prose(2) }] };
    expect(() => decodeDatasetPayload(encodeDatasetPayload(tampered))).toThrow(/hashes to/);
    expect(() => decodeDatasetPayload(encodeDatasetPayload({ v: 1, docs: [doc(1), doc(1)] }))).toThrow(/twice/);
    expect(() => decodeDatasetPayload(new TextEncoder().encode('hello'))).toThrow(DatasetPayloadError);
  });

  it('splits uploads at separator lines and packs parts by text size', () => {
    expect(splitDocuments(new TextEncoder().encode(joinDocuments(['a', 'b', 'c']))).map((b) => new TextDecoder().decode(b))).toEqual(['a', 'b', 'c']);
    expect(packParts([{ bytes: 600 }, { bytes: 600 }, { bytes: 300 }, { bytes: 2000 }], 1000).map((p) => p.length)).toEqual([1, 2, 1]);
  });

  it('files tiers by bits per byte and overlap', () => {
    expect([tierOf(2.9, 0.1), tierOf(2.9, 0.6), tierOf(4.0, 0.1), tierOf(5, 0), tierOf(1, 0.75)]).toEqual(['gold', 'silver', 'silver', 'experimental', 'experimental']);
  });
});

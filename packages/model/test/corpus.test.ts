import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Doc, hashSplit, loadDocuments, splitDocuments, splitOf } from '../src/data/corpus.ts';

const docs = loadDocuments();
const split = splitDocuments(docs);
const names = ['train', 'val', 'hidden'] as const;

describe('documents', () => {
  it('are every address and every chapter, once each, sorted by id', () => {
    const ids = docs.map((d) => d.id);
    expect(docs.filter((d) => d.source === 'sotu')).toHaveLength(233);
    expect(docs.filter((d) => d.source === 'moby')).toHaveLength(138);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort());
    for (const d of docs) expect(d.id.startsWith(`${d.source}:`)).toBe(true);
    expect(ids).toContain('sotu:1790-george-washington');
    expect(ids).toContain('moby:chapter_135');
    expect(ids).toContain('moby:epilogue');
  });

  it('keep the text as it is in the dataset', () => {
    const byId = new Map(docs.map((d) => [d.id, d.text]));
    expect(byId.get('moby:chapter_1')!.startsWith('CHAPTER 1. Loomings.\n\nCall me Ishmael.')).toBe(true);
    expect(byId.get('sotu:1790-george-washington')!.startsWith('Fellow-Citizens of the Senate')).toBe(true);
    for (const d of docs) {
      expect(d.text.length).toBeGreaterThan(0);
      expect(d.text.startsWith('\uFEFF')).toBe(false);
    }
  });
});

describe('split', () => {
  it('puts each document in exactly one split', () => {
    const all = names.flatMap((n) => split[n].map((d) => d.id));
    expect(all).toHaveLength(docs.length);
    expect(new Set(all)).toEqual(new Set(docs.map((d) => d.id)));
  });

  it('has documents of both sources in every split', () => {
    for (const n of names) {
      for (const source of ['sotu', 'moby']) expect(split[n].some((d) => d.source === source)).toBe(true);
    }
  });

  it('keeps each split sorted by id', () => {
    for (const n of names) {
      const ids = split[n].map((d) => d.id);
      expect(ids).toEqual([...ids].sort());
    }
  });

  it('assigns by SHA-256 of the id: first 4 bytes mod 20, 0 hidden, 1 val', () => {
    for (const d of docs) {
      const h = createHash('sha256').update(d.id).digest().readUInt32BE(0) % 20;
      expect(splitOf(d.id)).toBe(h === 0 ? 'hidden' : h === 1 ? 'val' : 'train');
    }
  });

  it('is stable', () => {
    expect(splitOf('sotu:1790-george-washington')).toBe('train');
    expect(splitOf('sotu:2014-barack-obama')).toBe('val');
    expect(splitOf('moby:chapter_118')).toBe('val');
    expect(splitOf('sotu:1791-george-washington')).toBe('hidden');
    expect(splitOf('moby:chapter_15')).toBe('hidden');
  });

  it('does not depend on which other documents exist', () => {
    const subset = docs.filter((_, i) => i % 3 === 0);
    const sub = splitDocuments(subset);
    for (const n of names) for (const d of sub[n]) expect(split[n]).toContain(d);
  });
});

describe('hashSplit', () => {
  const doc = (id: string, text: string): Doc => ({ id, source: 'moby', text });

  it('is the SHA-256 hex of the framed ids and texts', () => {
    expect(hashSplit([])).toBe(createHash('sha256').digest('hex'));
    expect(hashSplit([doc('moby:x', 'é')])).toBe(createHash('sha256').update('moby:x\u00002\u0000é').digest('hex'));
  });

  it('changes with any text, id or order change', () => {
    const base = [doc('a', 'bc'), doc('d', 'e')];
    const variants = [
      [doc('a', 'bd'), doc('d', 'e')],
      [doc('ab', 'c'), doc('d', 'e')],
      [doc('d', 'e'), doc('a', 'bc')],
      [doc('a', 'bcd'), doc('', 'e')],
    ];
    const h = hashSplit(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    for (const v of variants) expect(hashSplit(v)).not.toBe(h);
    expect(hashSplit(split.val)).toBe(hashSplit(splitDocuments(loadDocuments()).val));
  });
});

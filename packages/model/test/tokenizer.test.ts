import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../src/data/corpus.ts';
import { END_OF_TEXT, type Merge, StreamDecoder, Tokenizer, trainTokenizer } from '../src/tokenizer/index.ts';

const docs = new Map(loadDocuments().map((d) => [d.id, d.text]));
const chapter = (n: number): string => docs.get(`moby:chapter_${n}`)!;
const trainTexts = [chapter(1), chapter(2), chapter(3)];
const heldOut = chapter(4);
const tok = trainTokenizer(trainTexts, 256 + 400 + 1);
const utf8 = new TextEncoder();

/** Words from the training text plus awkward pieces, so that merges actually fire in property tests. */
const pieces = [...new Set(trainTexts.join(' ').split(/(\s+)/))].slice(0, 300);
const piece = fc.constantFrom(...pieces, "'s", "n't", ' ', '\n\n', '  ', '—', '’', '2024', '\uFEFF');
const texty = fc
  .array(fc.oneof(piece, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 40 })
  .map((parts) => parts.join(''));

const anyText = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), texty);

/** Plain BPE training that recounts every pair at every step, to check the incremental trainer against. */
function naiveMerges(texts: string[], maxMerges: number): Merge[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const m of text.matchAll(/'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu)) {
      counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
    }
  }
  let words = [...counts].map(([w, c]) => ({ ids: Array.from(utf8.encode(w)), c }));
  const merges: Merge[] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, { a: number; b: number; n: number }>();
    for (const { ids, c } of words) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = `${ids[i]},${ids[i + 1]}`;
        const p = pairs.get(key) ?? { a: ids[i]!, b: ids[i + 1]!, n: 0 };
        p.n += c;
        pairs.set(key, p);
      }
    }
    const best = [...pairs.values()].sort((x, y) => y.n - x.n || x.a - y.a || x.b - y.b)[0];
    if (!best) break;
    const id = 256 + merges.length;
    merges.push([best.a, best.b]);
    words = words.map(({ ids, c }) => {
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] === best.a && ids[i + 1] === best.b) {
          out.push(id);
          i++;
        } else {
          out.push(ids[i]!);
        }
      }
      return { ids: out, c };
    });
  }
  return merges;
}

describe('training', () => {
  it('is deterministic', () => {
    expect(trainTokenizer(trainTexts, 256 + 400 + 1).toJSON()).toEqual(tok.toJSON());
  });

  it('learns the same merges as recounting every pair at every step', () => {
    expect(trainTokenizer([chapter(1)], 256 + 150 + 1).merges).toEqual(naiveMerges([chapter(1)], 150));
  });

  it('sizes the vocabulary as 256 bytes + merges + <|endoftext|>', () => {
    expect(tok.merges).toHaveLength(400);
    expect(tok.vocabSize).toBe(657);
    expect(tok.endOfTextId).toBe(656);
  });

  it('stops early when the texts run out of pairs', () => {
    const small = trainTokenizer(['ab ab', 'a'], 4096);
    expect(small.merges).toEqual([[97, 98], [32, 256]]);
    expect(small.vocabSize).toBe(259);
  });

  it('rejects a vocabulary too small for bytes and the special token', () => {
    expect(() => trainTokenizer(['x'], 256)).toThrow(/at least 257/);
    expect(() => trainTokenizer(['x'], 300.5)).toThrow(/integer/);
  });

  it('compresses text it was trained on, and text it was not', () => {
    const bytesPerToken = (text: string): number => utf8.encode(text).length / tok.encode(text).length;
    expect(bytesPerToken(trainTexts.join(''))).toBeGreaterThan(2.3);
    expect(bytesPerToken(heldOut)).toBeGreaterThan(2);
  });
});

describe('encoding', () => {
  it('round-trips any well-formed string', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips any bytes, ill-formed UTF-8 included', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), texty.map((s) => utf8.encode(s)));
    fc.assert(
      fc.property(bytes, fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }), (b, noise) => {
        const input = Uint8Array.from([...noise, ...b, ...noise]);
        expect(tok.decodeBytes(tok.encodeBytes(input))).toEqual(input);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes a string and its UTF-8 bytes to the same ids', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(tok.encodeBytes(utf8.encode(s))).toEqual(tok.encode(s));
      }),
    );
  });

  it('never emits <|endoftext|>, even for its spelling', () => {
    const ids = tok.encode(`a${END_OF_TEXT}b`);
    expect(ids).not.toContain(tok.endOfTextId);
    expect(tok.decode(ids)).toBe(`a${END_OF_TEXT}b`);
  });

  it('separates documents with <|endoftext|>', () => {
    const ids = tok.encodeDocuments(['Call me', 'Ishmael.']);
    expect(ids.filter((id) => id === tok.endOfTextId)).toHaveLength(2);
    expect(ids.at(-1)).toBe(tok.endOfTextId);
    expect(tok.decode(ids)).toBe(`Call me${END_OF_TEXT}Ishmael.${END_OF_TEXT}`);
  });

  it('keeps a leading byte order mark', () => {
    expect(tok.decode(tok.encode('\uFEFFwhale'))).toBe('\uFEFFwhale');
  });

  it('encodes a lone surrogate as U+FFFD, as TextEncoder does', () => {
    expect(tok.decode(tok.encode('a\uD800b'))).toBe('a\uFFFDb');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode([tok.vocabSize])).toThrow(/not in the vocabulary/);
    expect(() => tok.decodeBytes([-1])).toThrow(/not in the vocabulary/);
  });
});

describe('streaming decode', () => {
  const streamed = (ids: number[]): string => {
    const stream = new StreamDecoder(tok);
    return ids.map((id) => stream.push(id)).join('') + stream.flush();
  };

  it('emits only whole characters', () => {
    const stream = new StreamDecoder(new Tokenizer([]));
    expect([0xe2, 0x82, 0xac, 0x21].map((b) => stream.push(b))).toEqual(['', '', '€', '!']);
    expect(stream.flush()).toBe('');
  });

  it('matches one-shot decoding when fed token by token', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(streamed(tok.encode(s))).toBe(s);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const ids = tok.encodeBytes(b);
        expect(streamed(ids)).toBe(tok.decode(ids));
      }),
    );
  });
});

describe('serialization', () => {
  const json = tok.toJSON();

  it('round-trips through JSON text', () => {
    const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
    expect(back.toJSON()).toEqual(json);
    expect(back.encode(heldOut)).toEqual(tok.encode(heldOut));
  });

  it('has the blyan-bpe-v1 shape', () => {
    expect(json.format).toBe('blyan-bpe-v1');
    expect(json.special).toEqual({ [END_OF_TEXT]: 656 });
    expect(json.merges[0]).toEqual(tok.merges[0]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['null', null, /expected an object, got null/],
    ['an array', [], /expected an object, got an array/],
    ['a wrong format tag', { ...json, format: 'gpt2' }, /format must be "blyan-bpe-v1", got "gpt2"/],
    ['a missing field', { format: json.format, merges: json.merges }, /missing "special"/],
    ['an extra field', { ...json, vocab: {} }, /unexpected key "vocab"/],
    ['merges that are not an array', { ...json, merges: {} }, /merges must be an array/],
    ['a merge that is not a pair', { ...json, merges: [[1, 2, 3]] }, /merges\[0\] must be a pair/],
    ['a merge of a later id', { ...json, merges: [[256, 1]] }, /merges\[0\]\[0\] = 256 is not a defined id/],
    ['a merge of a non-integer', { ...json, merges: [[1, 2.5]] }, /merges\[0\]\[1\] = 2.5 is not a defined id/],
    ['a merge of a string', { ...json, merges: [['1', 2]] }, /merges\[0\]\[0\] = "1" is not a defined id/],
    ['a repeated merge', { ...json, merges: [[1, 2], [1, 2]] }, /merges\[1\] repeats merges\[0\]/],
    ['a wrong special id', { ...json, special: { [END_OF_TEXT]: 1 } }, /special\["<\|endoftext\|>"\] must be 656/],
    ['an unknown special token', { ...json, special: { [END_OF_TEXT]: 656, x: 1 } }, /special has unexpected key "x"/],
    ['special that is not an object', { ...json, special: 656 }, /special must be an object/],
  ];
  it.each(bad)('rejects %s', (_, x, message) => {
    expect(() => Tokenizer.fromJSON(x)).toThrow(message);
  });
});

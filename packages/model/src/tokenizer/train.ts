import { BYTE_TOKENS, type Merge, joinPair } from './merges.ts';
import { PairHeap } from './pair-heap.ts';
import { chunks } from './pretokenize.ts';
import { Tokenizer } from './tokenizer.ts';
import { utf8Encoder } from './utf8.ts';

/** How often each pre-tokenization chunk occurs across `texts`. */
function countChunks(texts: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const chunk of chunks(text)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
  }
  return counts;
}

/**
 * Counts of adjacent id pairs over a set of words (chunks as id sequences, each with a count),
 * with the words each pair occurs in, kept up to date as pairs are merged so that a merge only
 * touches the words that contain its pair.
 */
class PairIndex {
  private readonly counts = new Map<number, number>();
  private readonly wordsWith = new Map<number, Set<number>>();
  private readonly heap = new PairHeap();

  constructor(
    private readonly words: number[][],
    private readonly wordCounts: readonly number[],
    private readonly base: number,
  ) {
    words.forEach((ids, w) => {
      for (let i = 0; i + 1 < ids.length; i++) this.noteWord(this.key(ids, i), w);
    });
    this.addCounts(this.pairDeltas(words.map((ids, w) => [ids, 1, wordCounts[w]!])));
  }

  /** The pair with the highest count, the lowest (a, b) among ties; undefined when none is left. */
  best(): Merge | undefined {
    for (let top = this.heap.pop(); top; top = this.heap.pop()) {
      if (this.counts.get(top.key) === top.count) return [Math.floor(top.key / this.base), top.key % this.base];
    }
    return undefined;
  }

  /** Joins every occurrence of `pair` into `id` and updates the counts. */
  merge(pair: Merge, id: number): void {
    const pairKey = pair[0] * this.base + pair[1];
    const changes: [number[], number, number][] = [];
    for (const w of this.wordsWith.get(pairKey) ?? []) {
      const before = this.words[w]!;
      const after = joinPair(before, pair, id);
      if (after === before) continue;
      changes.push([before, -1, this.wordCounts[w]!], [after, 1, this.wordCounts[w]!]);
      this.words[w] = after;
      for (let i = 0; i + 1 < after.length; i++) {
        if (after[i] === id || after[i + 1] === id) this.noteWord(this.key(after, i), w);
      }
    }
    this.wordsWith.delete(pairKey);
    this.addCounts(this.pairDeltas(changes));
  }

  private key(ids: readonly number[], i: number): number {
    return ids[i]! * this.base + ids[i + 1]!;
  }

  private noteWord(key: number, w: number): void {
    let set = this.wordsWith.get(key);
    if (!set) this.wordsWith.set(key, (set = new Set()));
    set.add(w);
  }

  /** Net change of each pair count when each word `ids` is added (sign 1) or removed (-1) `count` times. */
  private pairDeltas(changes: Iterable<[readonly number[], number, number]>): Map<number, number> {
    const delta = new Map<number, number>();
    for (const [ids, sign, count] of changes) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = this.key(ids, i);
        delta.set(key, (delta.get(key) ?? 0) + sign * count);
      }
    }
    return delta;
  }

  private addCounts(delta: ReadonlyMap<number, number>): void {
    for (const [key, d] of delta) {
      if (d === 0) continue;
      const count = (this.counts.get(key) ?? 0) + d;
      if (count === 0) {
        this.counts.delete(key);
      } else {
        this.counts.set(key, count);
        this.heap.push(count, key);
      }
    }
  }
}

/**
 * Learns up to `maxMerges` merges from chunk counts: repeatedly merges the pair of adjacent ids
 * with the highest total count, ties going to the lowest (a, b). Stops early when no adjacent
 * pair is left.
 */
function learnMerges(chunkCounts: ReadonlyMap<string, number>, maxMerges: number): Merge[] {
  const words: number[][] = [];
  const wordCounts: number[] = [];
  for (const [chunk, count] of chunkCounts) {
    const ids = Array.from(utf8Encoder.encode(chunk));
    if (ids.length < 2) continue;
    words.push(ids);
    wordCounts.push(count);
  }
  const index = new PairIndex(words, wordCounts, BYTE_TOKENS + maxMerges);
  const merges: Merge[] = [];
  while (merges.length < maxMerges) {
    const pair = index.best();
    if (!pair) break;
    index.merge(pair, BYTE_TOKENS + merges.length);
    merges.push(pair);
  }
  return merges;
}

/**
 * Trains a byte-level BPE tokenizer of at most `vocabSize` ids: 256 bytes, up to
 * `vocabSize - 257` merges, and `<|endoftext|>`. Deterministic in `texts`; fewer merges when the
 * texts run out of pairs.
 */
export function trainTokenizer(texts: readonly string[], vocabSize: number): Tokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < BYTE_TOKENS + 1) {
    throw new RangeError(`vocabSize must be an integer of at least ${BYTE_TOKENS + 1}, got ${vocabSize}`);
  }
  return new Tokenizer(learnMerges(countChunks(texts), vocabSize - BYTE_TOKENS - 1));
}

/**
 * Near-duplicate detection by MinHash over word 3-shingles: a document's signature is, for each of
 * NUM_HASHES seeded 32-bit hash functions, the least hash over its shingles; the share of equal
 * positions of two signatures estimates the Jaccard similarity of their shingle sets. Signatures
 * are cut into BANDS bands of ROWS rows (locality-sensitive hashing): two documents are compared
 * only when some band is equal, which finds pairs at Jaccard 0.8 with probability 0.9998 and at
 * 0.5 with probability 0.64.
 */
export const NUM_HASHES = 64;
export const BANDS = 16;
export const ROWS = NUM_HASHES / BANDS;
const SHINGLE = 3;

export type Signature = Uint32Array;

/** FNV-1a over UTF-16 code units, then a murmur3 finalizer. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix(h);
}

function fmix(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const SEEDS = Uint32Array.from({ length: NUM_HASHES }, (_, i) => fmix(0x9e3779b9 * (i + 1)));

/** Lower-cased words (letters and digits), the unit shingles are made of. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Hashes of the word 3-shingles of a document's words (one shingle, of all its words, when it has fewer than 3). */
function shingleHashes(w: readonly string[]): Uint32Array {
  const wh = Uint32Array.from(w, hashString);
  const n = Math.max(1, w.length - SHINGLE + 1);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0x9747b28c;
    for (let j = i; j < Math.min(i + SHINGLE, wh.length); j++) h = fmix(h ^ wh[j]!) + j - i;
    out[i] = h >>> 0;
  }
  return out;
}

/** The MinHash signature of a document, from its words (see `words`). */
export function signatureOfWords(w: readonly string[]): Signature {
  const shingles = shingleHashes(w);
  const sig = new Uint32Array(NUM_HASHES);
  for (let k = 0; k < NUM_HASHES; k++) {
    const seed = SEEDS[k]!;
    let min = 0xffffffff;
    for (let i = 0; i < shingles.length; i++) {
      const v = fmix(shingles[i]! ^ seed);
      if (v < min) min = v;
    }
    sig[k] = min;
  }
  return sig;
}

export function signature(text: string): Signature {
  return signatureOfWords(words(text));
}

/** Estimated Jaccard similarity of the two documents' shingle sets. */
export function similarity(a: Signature, b: Signature): number {
  let same = 0;
  for (let k = 0; k < NUM_HASHES; k++) if (a[k] === b[k]) same++;
  return same / NUM_HASHES;
}

/** The LSH keys of a signature: one per band, `<band>:<hash of its rows>`. */
export function bandKeys(sig: Signature): string[] {
  return Array.from({ length: BANDS }, (_, b) => {
    let h = b;
    for (let r = 0; r < ROWS; r++) h = fmix(h ^ sig[b * ROWS + r]!) + r;
    return `${b}:${(h >>> 0).toString(16)}`;
  });
}

/** A set of signatures that can say which of them may be near a new one. */
export interface NearIndex {
  /** The most similar document already held and its similarity, or null when none shares a band. */
  nearest(sig: Signature): { doc: string; similarity: number } | null;
}

/** An in-memory NearIndex, the one the prefilter fills with the upload's own documents. */
export class MemoryNearIndex implements NearIndex {
  private readonly byBand = new Map<string, string[]>();
  private readonly sigs = new Map<string, Signature>();

  add(doc: string, sig: Signature): void {
    this.sigs.set(doc, sig);
    for (const k of bandKeys(sig)) {
      const docs = this.byBand.get(k);
      if (docs === undefined) this.byBand.set(k, [doc]);
      else docs.push(doc);
    }
  }

  nearest(sig: Signature): { doc: string; similarity: number } | null {
    let best: { doc: string; similarity: number } | null = null;
    for (const k of bandKeys(sig)) {
      for (const doc of this.byBand.get(k) ?? []) {
        const s = similarity(sig, this.sigs.get(doc)!);
        if (best === null || s > best.similarity) best = { doc, similarity: s };
      }
    }
    return best;
  }
}

import type { Hash } from '@blyan/block';
import { docHash, utf8Bytes } from './hash.ts';
import { MemoryNearIndex, type NearIndex, type Signature, signatureOfWords, words } from './minhash.ts';
import { findSecret, redactPii } from './pii.ts';

/** Why L0 refused a document; each comes with a message the uploader sees. */
export type RefusalCode =
  | 'invalid_utf8'
  | 'binary'
  | 'too_short'
  | 'too_long'
  | 'near_empty'
  | 'few_letters'
  | 'repeated_line'
  | 'secret'
  | 'pii'
  | 'duplicate'
  | 'near_duplicate';

/** The bounds of L0 (docs/ARCHITECTURE.md, "Data hub"). */
export interface PrefilterLimits {
  readonly minBytes: number;
  readonly maxBytes: number;
  /** Least share of letters among the non-space characters. */
  readonly minLetterShare: number;
  /** Least count of distinct words: below it a document is near-empty. */
  readonly minWords: number;
  /** Largest share of the non-blank lines one line may take (with at least 4 lines). */
  readonly maxRepeatedLineShare: number;
  /** Largest share of the characters that may be e-mail addresses and phone numbers (redacted below it). */
  readonly maxPiiShare: number;
  /** Estimated Jaccard similarity at or above which a document is a near duplicate. */
  readonly nearDuplicate: number;
}

export const DEFAULT_LIMITS: PrefilterLimits = {
  minBytes: 64,
  maxBytes: 256 * 1024,
  minLetterShare: 0.5,
  minWords: 8,
  maxRepeatedLineShare: 0.5,
  maxPiiShare: 0.1,
  nearDuplicate: 0.8,
};

export type DocVerdict =
  | {
      readonly ok: true;
      readonly index: number;
      readonly sha256: Hash;
      /** The document as it will be stored: personal data replaced by placeholders. */
      readonly text: string;
      readonly bytes: number;
      readonly redacted: { readonly emails: number; readonly phones: number };
      readonly signature: Signature;
    }
  | { readonly ok: false; readonly index: number; readonly code: RefusalCode; readonly message: string; readonly bytes: number };

/** What is already known outside the upload: documents on chain D by hash, and their near-duplicate index. */
export interface Known {
  has(sha256: Hash): boolean;
  readonly near: NearIndex;
}

export const NOTHING_KNOWN: Known = { has: () => false, near: new MemoryNearIndex() };

type Refused = Extract<DocVerdict, { ok: false }>;
const refuse = (index: number, bytes: number, code: RefusalCode, message: string): Refused => ({ ok: false, index, code, message, bytes });
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Control characters other than tab, line feed, carriage return and form feed. */
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g;

function decode(index: number, raw: Uint8Array): string | Refused {
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    return refuse(index, raw.length, 'invalid_utf8', 'the document is not valid UTF-8 text');
  }
  const controls = text.match(CONTROL)?.length ?? 0;
  if (controls > 0 && (text.includes('\u0000') || controls / text.length > 0.01)) {
    return refuse(index, raw.length, 'binary', `the document holds ${controls} control characters: it looks like binary data, not text`);
  }
  return text;
}

/** The checks on one document's own text, cheapest first; null when it passes. */
function shapeProblem(index: number, text: string, bytes: number, l: PrefilterLimits): Refused | null {
  if (bytes < l.minBytes) return refuse(index, bytes, 'too_short', `${bytes} bytes; a document needs at least ${l.minBytes}`);
  if (bytes > l.maxBytes) return refuse(index, bytes, 'too_long', `${bytes} bytes; a document may have at most ${l.maxBytes}`);
  const distinct = new Set(words(text)).size;
  if (distinct < l.minWords) return refuse(index, bytes, 'near_empty', `only ${distinct} distinct words; a document needs at least ${l.minWords}`);
  const visible = text.length - text.replace(/\S/g, '').length;
  const letters = text.replace(/\P{L}/gu, '').length;
  if (letters / visible < l.minLetterShare) {
    return refuse(index, bytes, 'few_letters', `${pct(letters / visible)} of its characters are letters; at least ${pct(l.minLetterShare)} must be`);
  }
  const lines = text.split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
  if (lines.length >= 4) {
    const counts = new Map<string, number>();
    for (const s of lines) counts.set(s, (counts.get(s) ?? 0) + 1);
    const top = Math.max(...counts.values());
    if (top / lines.length > l.maxRepeatedLineShare) {
      return refuse(index, bytes, 'repeated_line', `one line makes up ${pct(top / lines.length)} of its ${lines.length} lines; at most ${pct(l.maxRepeatedLineShare)} may`);
    }
  }
  return null;
}

/**
 * L0 on one document (`index` in its upload): UTF-8 and not binary, length bounds, near-empty,
 * letter share, one repeated line, secrets (refused), then e-mail addresses and phone numbers
 * (refused above maxPiiShare of the text, else replaced by placeholders), then exact and near
 * duplicates of `known` and of the upload's documents accepted before it (`seen`, which it extends).
 */
export function checkDocument(index: number, raw: Uint8Array, known: Known, seen: { hashes: Set<Hash>; near: MemoryNearIndex }, l: PrefilterLimits = DEFAULT_LIMITS): DocVerdict {
  const text = decode(index, raw);
  if (typeof text !== 'string') return text;
  const bytes = raw.length;
  const shape = shapeProblem(index, text, bytes, l);
  if (shape !== null) return shape;
  const secret = findSecret(text);
  if (secret !== null) return refuse(index, bytes, 'secret', `it holds what looks like a ${secret.kind} (character ${secret.at}); remove it and upload again`);
  const r = redactPii(text);
  if (r.chars / text.length > l.maxPiiShare) {
    return refuse(index, bytes, 'pii', `${r.emails} e-mail addresses and ${r.phones} phone numbers make up ${pct(r.chars / text.length)} of it; at most ${pct(l.maxPiiShare)} is redacted, more is refused`);
  }
  const sha256 = docHash(r.text);
  if (seen.hashes.has(sha256)) return refuse(index, bytes, 'duplicate', `an earlier document of this upload is the same (${sha256})`);
  if (known.has(sha256)) return refuse(index, bytes, 'duplicate', `the data hub already holds this document (${sha256}); it is stored once`);
  const sig = signatureOfWords(words(r.text));
  for (const [where, near] of [['the data hub', known.near], ['this upload', seen.near]] as const) {
    const hit = near.nearest(sig);
    if (hit !== null && hit.similarity >= l.nearDuplicate) {
      return refuse(index, bytes, 'near_duplicate', `${pct(hit.similarity)} of its word 3-shingles match document ${hit.doc} of ${where} (limit ${pct(l.nearDuplicate)})`);
    }
  }
  seen.hashes.add(sha256);
  seen.near.add(sha256, sig);
  return { ok: true, index, sha256, text: r.text, bytes: utf8Bytes(r.text), redacted: { emails: r.emails, phones: r.phones }, signature: sig };
}

/** L0 over a whole upload's documents, each judged against what is known and against those before it. */
export function prefilter(docs: readonly Uint8Array[], known: Known = NOTHING_KNOWN, l: PrefilterLimits = DEFAULT_LIMITS): DocVerdict[] {
  const seen = { hashes: new Set<Hash>(), near: new MemoryNearIndex() };
  return docs.map((raw, i) => checkDocument(i, raw, known, seen, l));
}

/**
 * `prefilter`, handing the thread back (a macrotask) after every `sliceMs` of work, so a relay
 * keeps serving and a page keeps painting while a large upload is checked. Same verdicts.
 */
export async function prefilterYielding(docs: readonly Uint8Array[], known: Known = NOTHING_KNOWN, l: PrefilterLimits = DEFAULT_LIMITS, sliceMs = 10): Promise<DocVerdict[]> {
  const seen = { hashes: new Set<Hash>(), near: new MemoryNearIndex() };
  const out: DocVerdict[] = [];
  let slice = performance.now();
  for (const [i, raw] of docs.entries()) {
    out.push(checkDocument(i, raw, known, seen, l));
    if (performance.now() - slice > sliceMs) {
      await new Promise((r) => setTimeout(r, 0));
      slice = performance.now();
    }
  }
  return out;
}

/**
 * GPT-2's pre-tokenization pattern: English contractions, letters with an optional leading space,
 * digits with an optional leading space, other non-space runs with an optional leading space,
 * whitespace that is not followed by a non-space (so a single space joins the next word), and any
 * remaining whitespace. Every code point matches one branch, so the chunks tile the input exactly.
 */
const CHUNK = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits text into the chunks BPE merges within; their concatenation is `text`. */
export function* chunks(text: string): Generator<string> {
  for (const m of text.matchAll(CHUNK)) yield m[0];
}

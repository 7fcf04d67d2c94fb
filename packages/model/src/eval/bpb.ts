import type { Tokenizer } from '../tokenizer/tokenizer.ts';

/**
 * Bits per byte: the code length the model needs per byte of text, total cross-entropy in nats
 * over every predicted token converted to bits, divided by the text's UTF-8 bytes. Tokenizer-
 * independent, so models with different vocabularies, and xz, compare directly.
 */
export function bitsPerByte(totalNats: number, bytes: number): number {
  if (!(bytes > 0)) throw new Error(`bits per byte needs a positive byte count, got ${bytes}`);
  return totalNats / Math.LN2 / bytes;
}

/** UTF-8 bytes of the documents' text (separators excluded). */
export function textBytes(texts: Iterable<string>): number {
  let n = 0;
  for (const t of texts) n += Buffer.byteLength(t, 'utf8');
  return n;
}

/** Bytes of text each token id stands for; `<|endoftext|>` is a separator and stands for none. */
export function tokenByteLengths(tokenizer: Tokenizer): Int32Array {
  const lengths = new Int32Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) lengths[id] = id === tokenizer.endOfTextId ? 0 : tokenizer.decodeBytes([id]).length;
  return lengths;
}

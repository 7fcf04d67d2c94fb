import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { bitsPerByte, textBytes } from './bpb.ts';
import { type WindowLosses, scoreWindows } from './score.ts';
import { evalStream, stridedWindows } from './windows.ts';

export interface SplitScore {
  readonly bpb: number;
  /** Total cross-entropy, nats. */
  readonly nats: number;
  /** Targets scored: every token of every document plus each document's `<|endoftext|>`. */
  readonly tokens: number;
  /** UTF-8 bytes of the documents' text. */
  readonly bytes: number;
}

/**
 * Bits per byte of a split: the documents as one `<|endoftext|>`-separated stream (evalStream),
 * strided windows of T tokens (stridedWindows) scoring every target once, total nats / ln 2 /
 * text bytes.
 */
export async function splitBpb(lossesOf: WindowLosses, tokenizer: Tokenizer, texts: readonly string[], T: number, stride: number, perBatch: number): Promise<SplitScore> {
  const stream = evalStream(tokenizer, texts);
  const { length, windows } = stridedWindows(stream.length, T, stride);
  const { nats, tokens } = await scoreWindows(lossesOf, stream, windows, length, perBatch);
  const bytes = textBytes(texts);
  return { bpb: bitsPerByte(nats, bytes), nats, tokens, bytes };
}

import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { Batch } from '../train/sampler.ts';

/**
 * The token stream a split is evaluated on: `<|endoftext|>`, then each document followed by
 * `<|endoftext|>`, as in training. Every token after the first is a target, so the model is
 * charged for every token of every document and for each document's end.
 */
export function evalStream(tokenizer: Tokenizer, texts: Iterable<string>): Int32Array {
  return Int32Array.from([tokenizer.endOfTextId, ...tokenizer.encodeDocuments(texts)]);
}

/** A window of `length` inputs at `start`; its targets from offset `scoreFrom` on are scored. */
export interface Window {
  readonly start: number;
  readonly scoreFrom: number;
}

/**
 * Strided windows scoring each of the stream's targets exactly once. Windows are
 * min(T, targets) tokens long; the first scores all its targets, each later one slides `stride`
 * tokens on and scores only its last `stride` targets, which therefore see at least T − stride
 * tokens of context. stride = T gives non-overlapping windows.
 */
export function stridedWindows(streamLength: number, T: number, stride: number): { length: number; windows: Window[] } {
  const targets = streamLength - 1;
  if (targets < 1) throw new Error('a stream needs at least two tokens to be evaluated');
  if (!Number.isSafeInteger(stride) || stride < 1 || stride > T) throw new Error(`stride must be an integer in [1, ${T}], got ${stride}`);
  const length = Math.min(T, targets);
  const windows: Window[] = [{ start: 0, scoreFrom: 0 }];
  for (let covered = length; covered < targets; ) {
    const end = Math.min(covered + stride, targets);
    windows.push({ start: end - length, scoreFrom: covered - (end - length) });
    covered = end;
  }
  return { length, windows };
}

/** `count` windows of T inputs spread evenly over the stream, each scoring all its targets. */
export function spreadWindows(streamLength: number, T: number, count: number): { length: number; windows: Window[] } {
  const length = Math.min(T, streamLength - 1);
  if (length < 1) throw new Error('a stream needs at least two tokens to be evaluated');
  const last = streamLength - 1 - length;
  const windows = Array.from({ length: count }, (_, i) => ({ start: count === 1 ? 0 : Math.round((i * last) / (count - 1)), scoreFrom: 0 }));
  return { length, windows };
}

/** The windows as one batch: inputs stream[start .. start+length), targets one token later. */
export function windowBatch(stream: Int32Array, windows: readonly Window[], length: number): Batch {
  const B = windows.length;
  const inputs = new Int32Array(B * length);
  const targets = new Int32Array(B * length);
  for (const [b, { start }] of windows.entries()) {
    inputs.set(stream.subarray(start, start + length), b * length);
    targets.set(stream.subarray(start + 1, start + length + 1), b * length);
  }
  return { inputs, targets, B, T: length };
}

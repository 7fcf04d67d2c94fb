import type { Tokenizer } from '@blyan/model';
import { evalStream } from '@blyan/model/eval';

/** Texts tokenized as one evaluation stream (evalStream), with their UTF-8 byte count. */
export interface TextSet {
  readonly texts: readonly string[];
  readonly stream: Int32Array;
  readonly bytes: number;
}

/** The leading texts whose stream reaches `tokens` tokens (all of them when they do not), and the texts after. */
export function takeTokens(tokenizer: Tokenizer, texts: readonly string[], tokens: number): { set: TextSet; rest: readonly string[] } {
  const taken: string[] = [];
  let count = 1;
  for (const t of texts) {
    if (count >= tokens) break;
    taken.push(t);
    count += tokenizer.encode(t).length + 1;
  }
  return { set: textSet(tokenizer, taken), rest: texts.slice(taken.length) };
}

export function textSet(tokenizer: Tokenizer, texts: readonly string[]): TextSet {
  return { texts, stream: evalStream(tokenizer, texts), bytes: texts.reduce((s, t) => s + Buffer.byteLength(t, 'utf8'), 0) };
}

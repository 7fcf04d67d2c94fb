import { existsSync, readFileSync } from 'node:fs';
import type { Doc } from '../data/corpus.ts';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import { trainTokenizer } from '../tokenizer/train.ts';
import { writeFileAtomic } from './atomic-write.ts';

/** Throws unless the tokenizer has exactly the config's vocabulary size. */
export function checkVocab(tokenizer: Tokenizer, vocabSize: number, where: string): void {
  if (tokenizer.vocabSize !== vocabSize) {
    throw new Error(`${where}: the tokenizer has ${tokenizer.vocabSize} tokens but the config's vocabSize is ${vocabSize}`);
  }
}

/** Parses a tokenizer from JSON text, naming `where` in any Error. */
export function parseTokenizer(text: string, where: string): Tokenizer {
  try {
    return Tokenizer.fromJSON(JSON.parse(text));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/**
 * The run's tokenizer: read from `path` if a run already wrote it, else trained on the train
 * documents (deterministic: same documents, same merges) and written there. Either way its
 * vocabulary must match `vocabSize`.
 */
export function loadOrTrainTokenizer(path: string, train: readonly Doc[], vocabSize: number): Tokenizer {
  if (existsSync(path)) {
    const tokenizer = parseTokenizer(readFileSync(path, 'utf8'), path);
    checkVocab(tokenizer, vocabSize, path);
    return tokenizer;
  }
  const tokenizer = trainTokenizer(
    train.map((d) => d.text),
    vocabSize,
  );
  checkVocab(tokenizer, vocabSize, 'trained tokenizer');
  writeFileAtomic(path, `${JSON.stringify(tokenizer.toJSON())}\n`);
  return tokenizer;
}

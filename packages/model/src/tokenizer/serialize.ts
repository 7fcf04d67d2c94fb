import { BYTE_TOKENS, validateMerges } from './merges.ts';

export const END_OF_TEXT = '<|endoftext|>';
export const TOKENIZER_FORMAT = 'blyan-bpe-v1';

/** The serialized tokenizer. The special id always follows the merges: 256 + merges.length. */
export interface TokenizerJSON {
  format: typeof TOKENIZER_FORMAT;
  merges: [number, number][];
  special: { [END_OF_TEXT]: number };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}

function assertKeys(where: string, obj: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of keys) {
    if (!Object.hasOwn(obj, key)) throw new Error(`invalid tokenizer: ${where} is missing "${key}"`);
  }
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) throw new Error(`invalid tokenizer: ${where} has unexpected key "${key}"`);
  }
}

/** Checks every field of a parsed `TokenizerJSON` and throws an Error naming the first problem. */
export function parseTokenizerJSON(x: unknown): TokenizerJSON {
  if (!isPlainObject(x)) throw new Error(`invalid tokenizer: expected an object, got ${describe(x)}`);
  assertKeys('the tokenizer object', x, ['format', 'merges', 'special']);
  if (x.format !== TOKENIZER_FORMAT) {
    throw new Error(`invalid tokenizer: format must be "${TOKENIZER_FORMAT}", got ${JSON.stringify(x.format)}`);
  }
  const { merges, special } = x;
  validateMerges(merges);
  if (!isPlainObject(special)) {
    throw new Error(`invalid tokenizer: special must be an object, got ${describe(special)}`);
  }
  assertKeys('special', special, [END_OF_TEXT]);
  const id = BYTE_TOKENS + merges.length;
  const got = special[END_OF_TEXT];
  if (got !== id) {
    const expected = `${id} (256 + ${merges.length} merges)`;
    throw new Error(`invalid tokenizer: special["${END_OF_TEXT}"] must be ${expected}, got ${JSON.stringify(got)}`);
  }
  return { format: TOKENIZER_FORMAT, merges: merges.map(([a, b]) => [a, b]), special: { [END_OF_TEXT]: id } };
}

/** Copies `tokens` into an Int32Array after checking its length and that every id is in [0, vocabSize). */
export function checkTokens(tokens: ArrayLike<number>, length: number, vocabSize: number, what: string): Int32Array {
  if (tokens.length !== length) throw new Error(`${what} has ${tokens.length} tokens, expected ${length}`);
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const id = tokens[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`${what}[${i}] = ${id} is not a token id in [0, ${vocabSize})`);
    out[i] = id;
  }
  return out;
}

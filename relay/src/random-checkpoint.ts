import { type ModelConfig, initParams, trainTokenizer } from '@blyan/model';
import { encodeCheckpoint } from '@blyan/model/checkpoint';
import { type Doc, hashSplit } from '@blyan/model/data';
import { payloadHash } from '@blyan/block';

/** Text the tokenizer of a random checkpoint is trained on: enough distinct pairs for a few hundred tokens. */
const SAMPLE = `It is a truth universally acknowledged that a chain of blocks, each signed and each naming the
block it replaces, can hold a model as well as a ledger. The router picks two experts of eight for every
token; the client fetches only those, checks every tile against its Merkle root, and keeps them for later.
Idle graphics processors train one expert a little at a time, and the relay keeps a new version only when
the held-out loss falls by at least delta. Numbers 0123456789, punctuation (;:!?), and Capital Letters too.`;

/**
 * An untrained checkpoint of `cfg` (initParams from `seed`) with a tokenizer of cfg.vocabSize tokens
 * trained on a built-in paragraph (vocabSize up to a few hundred): for tests and benchmarks that
 * need real blocks fast. Its split hashes are the paragraph's.
 */
export function randomCheckpoint(cfg: ModelConfig, seed = 1): Uint8Array {
  const hash = payloadHash(new TextEncoder().encode(SAMPLE));
  return encodeCheckpoint(cfg, initParams(cfg, seed), trainTokenizer([SAMPLE], cfg.vocabSize), { train: hash, val: hash, hidden: hash }, { steps: 0, tokens: 0, seed, val_bpb: Number.NaN });
}

/**
 * An untrained checkpoint of `cfg` whose tokenizer is trained on the start of the corpus's first
 * train document and whose split hashes are the corpus's own, so a relay serving it can assign
 * train shards and judge contributions on its hidden split: for contribution tests and benchmarks.
 */
export function corpusCheckpoint(cfg: ModelConfig, seed: number, docs: { train: () => readonly Doc[]; hidden: () => readonly Doc[] }): Uint8Array {
  const train = docs.train();
  const tokenizer = trainTokenizer([train[0]!.text.slice(0, 20_000)], cfg.vocabSize);
  const splits = { train: hashSplit(train), val: hashSplit([]), hidden: hashSplit(docs.hidden()) };
  return encodeCheckpoint(cfg, initParams(cfg, seed), tokenizer, splits, { steps: 0, tokens: 0, seed, val_bpb: Number.NaN });
}

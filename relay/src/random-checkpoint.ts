import { type ModelConfig, initParams, trainTokenizer } from '@blyan/model';
import { encodeCheckpoint } from '@blyan/model/checkpoint';
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

import { readFileSync } from 'node:fs';
import { TensorFormatError, type TensorMap, decodeTensors, encodeTensors } from '@blyan/block';
import type { SplitHashes } from '../blocks/meta-payload.ts';
import { type CorpusSplit, hashSplit } from '../data/corpus.ts';
import type { ParamMap } from '../reference/arrays.ts';
import { type ModelConfig, validateConfig } from '../reference/config.ts';
import { parameterShapes } from '../reference/params.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { paramsToTensors, tensorsToParams } from './param-tensors.ts';
import { checkVocab, parseTokenizer } from './tokenizer-file.ts';

export type { SplitHashes };

export function splitHashes(corpus: CorpusSplit): SplitHashes {
  return { train: hashSplit(corpus.train), val: hashSplit(corpus.val), hidden: hashSplit(corpus.hidden) };
}

/** Throws unless the checkpoint records exactly these corpus splits (so its numbers are comparable). */
export function checkSplits(ckpt: ModelCheckpoint, corpus: CorpusSplit, where: string): void {
  const recorded = recordedSplits(ckpt, where);
  const actual = splitHashes(corpus);
  for (const split of ['train', 'val', 'hidden'] as const) {
    if (recorded[split] !== actual[split]) throw new Error(`${where}: recorded ${split} split ${recorded[split]} differs from this corpus's ${actual[split]}`);
  }
}

/** The split hashes a checkpoint records in `__metadata__.splits`. */
export function recordedSplits(ckpt: ModelCheckpoint, where: string): SplitHashes {
  const recorded = field(where, ckpt.metadata, 'splits') as Partial<SplitHashes> | null;
  for (const split of ['train', 'val', 'hidden'] as const) {
    if (typeof recorded?.[split] !== 'string') throw new Error(`${where}: __metadata__.splits.${split} is missing`);
  }
  return recorded as SplitHashes;
}

export interface TrainedInfo {
  readonly steps: number;
  readonly tokens: number;
  readonly seed: number;
  readonly val_bpb: number;
}

/** A trained model: what `checkpoint.tensors` holds and the relay's genesis command reads. */
export interface ModelCheckpoint {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly params: ParamMap;
  /** The raw `__metadata__` strings, `config` and `tokenizer` included. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * A `tensors-v1` payload of the f32 parameters with `__metadata__` = { config, tokenizer, splits,
 * trained }, each a JSON string.
 */
export function encodeCheckpoint(cfg: ModelConfig, params: ParamMap, tokenizer: Tokenizer, splits: SplitHashes, trained: TrainedInfo): Uint8Array {
  checkVocab(tokenizer, cfg.vocabSize, 'checkpoint');
  return encodeTensors(paramsToTensors(params, cfg), {
    config: JSON.stringify(cfg),
    tokenizer: JSON.stringify(tokenizer.toJSON()),
    splits: JSON.stringify(splits),
    trained: JSON.stringify(trained),
  });
}

function field(where: string, metadata: Record<string, string>, name: string): unknown {
  const text = metadata[name];
  if (text === undefined) throw new Error(`${where}: __metadata__ has no "${name}"`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: __metadata__.${name} is not valid JSON: ${(e as Error).message}`);
  }
}

/** decodeTensors, its format errors reworded as `where` being truncated or corrupt. */
export function decodeTensorFile(bytes: Uint8Array, where: string): { tensors: TensorMap; metadata: Record<string, string> } {
  try {
    return decodeTensors(bytes);
  } catch (e) {
    if (e instanceof TensorFormatError) throw new Error(`${where} is truncated or corrupt: ${e.message}`);
    throw e;
  }
}

/** Parses a checkpoint, throwing an Error that starts with `where` on damage or any mismatch with its config. */
export function decodeCheckpoint(bytes: Uint8Array, where: string): ModelCheckpoint {
  const { tensors, metadata } = decodeTensorFile(bytes, where);
  const config = field(where, metadata, 'config') as ModelConfig;
  try {
    validateConfig(config);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  if (metadata.tokenizer === undefined) throw new Error(`${where}: __metadata__ has no "tokenizer"`);
  const tokenizer = parseTokenizer(metadata.tokenizer, `${where}: __metadata__.tokenizer`);
  checkVocab(tokenizer, config.vocabSize, where);
  const known = new Set(parameterShapes(config).map((s) => s.name));
  for (const name of Object.keys(tensors)) if (!known.has(name)) throw new Error(`${where}: unexpected tensor "${name}"`);
  return { config, tokenizer, params: tensorsToParams(tensors, config, where), metadata };
}

export function readCheckpoint(path: string): ModelCheckpoint {
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}

import type { ModelConfig } from '../reference/config.ts';
import { canonicalConfigJson, validateConfig } from '../reference/config.ts';
import { payloadHash } from '@blyan/block';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { TokenizerJSON } from '../tokenizer/serialize.ts';

export const META_FORMAT = 'blyan-meta-v1';

/** How expert blocks store their weights; dense and router blocks are always f32. */
export type ExpertEncoding = 'int8' | 'f32';

/** SHA-256 of each corpus split the model was trained and is judged on (data/corpus.ts hashSplit). */
export interface SplitHashes {
  readonly train: string;
  readonly val: string;
  readonly hidden: string;
}

/**
 * Experts per layer a model with sequence budgets (config.sequenceBudgets) keeps per prompt: chosen
 * from the prompt's router probabilities (static-prompt routing), `default` in the default mode
 * and `lowBandwidth` in the low-bandwidth one, lowBandwidth ≤ default.
 */
export interface BudgetModes {
  readonly default: number;
  readonly lowBandwidth: number;
}

/**
 * The meta block's payload (UTF-8 JSON): everything a client needs besides the weights. `routing`
 * states the two modes every client supports and how many experts per layer static routing keeps
 * by default (for a model with sequence budgets, its default budget), and for such a model its
 * budget modes; `quantization` how expert blocks are encoded.
 */
export interface MetaPayload {
  readonly format: typeof META_FORMAT;
  readonly config: ModelConfig;
  readonly tokenizer: TokenizerJSON;
  readonly routing: { readonly modes: readonly ['dynamic', 'static']; readonly topK: number; readonly staticExpertsPerLayer: number; readonly budgets?: BudgetModes };
  readonly quantization: { readonly experts: ExpertEncoding; readonly dense: 'f32' };
  readonly splits: SplitHashes;
}

/** `meta.arch` of the meta block: SHA-256 of the config as JSON with sorted keys; any change starts a new model version. */
export function archOf(cfg: ModelConfig): string {
  return payloadHash(new TextEncoder().encode(canonicalConfigJson(cfg)));
}

export function encodeMetaPayload(meta: MetaPayload): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(meta));
}

function fail(message: string): never {
  throw new Error(`meta payload: ${message}`);
}

/** Parses and checks a meta payload: the config describes a model and the tokenizer matches its vocabulary. */
export function parseMetaPayload(bytes: Uint8Array): MetaPayload {
  let x: Record<string, unknown>;
  try {
    x = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    fail(`not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof x !== 'object' || x === null) fail('not a JSON object');
  if (x.format !== META_FORMAT) fail(`format must be "${META_FORMAT}", got ${JSON.stringify(x.format)}`);
  const config = x.config as ModelConfig;
  if (typeof config !== 'object' || config === null) fail('config is missing');
  try {
    validateConfig(config);
  } catch (e) {
    fail((e as Error).message);
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromJSON(x.tokenizer);
  } catch (e) {
    fail(`tokenizer: ${(e as Error).message}`);
  }
  if (tokenizer.vocabSize !== config.vocabSize) fail(`the tokenizer has ${tokenizer.vocabSize} tokens but config.vocabSize is ${config.vocabSize}`);
  const routing = x.routing as MetaPayload['routing'] | undefined;
  const m = routing?.staticExpertsPerLayer;
  if (routing?.topK !== config.topK) fail(`routing.topK must equal config.topK (${config.topK})`);
  if (typeof m !== 'number' || !Number.isInteger(m) || m < config.topK || m > config.nExperts) {
    fail(`routing.staticExpertsPerLayer must be an integer in [${config.topK}, ${config.nExperts}], got ${String(m)}`);
  }
  const budgets = routing?.budgets;
  if (config.sequenceBudgets === undefined && budgets !== undefined) fail('routing.budgets needs a model with config.sequenceBudgets');
  if (config.sequenceBudgets !== undefined) {
    const inRange = (b: unknown): boolean => typeof b === 'number' && Number.isInteger(b) && b >= config.topK && b <= config.nExperts;
    if (!inRange(budgets?.default) || !inRange(budgets?.lowBandwidth) || budgets!.lowBandwidth > budgets!.default) {
      fail(`routing.budgets must hold integers lowBandwidth ≤ default in [${config.topK}, ${config.nExperts}], got ${JSON.stringify(budgets)}`);
    }
  }
  const q = x.quantization as MetaPayload['quantization'] | undefined;
  if (q?.experts !== 'int8' && q?.experts !== 'f32') fail(`quantization.experts must be "int8" or "f32", got ${JSON.stringify(q?.experts)}`);
  const splits = x.splits as SplitHashes | undefined;
  for (const s of ['train', 'val', 'hidden'] as const) if (typeof splits?.[s] !== 'string') fail(`splits.${s} must be a hash string`);
  return x as unknown as MetaPayload;
}

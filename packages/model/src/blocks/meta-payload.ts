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
 * Experts a meta block added for a dataset (issue 14): in every layer experts
 * [first, first + sources[l].length), each upcycled from expert sources[l][i] (grow/grow.ts).
 */
export interface GrowthRecord {
  /** The dataset on chain D (its slot name) the experts were added for. */
  readonly dataset: string;
  /** That dataset's head block when they were; the meta block also lists it in depends_on. */
  readonly datasetBlock: string;
  readonly first: number;
  readonly sources: readonly (readonly number[])[];
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
  /** A grown model (config.baseExperts set): every growth, oldest first, together adding experts [baseExperts, nExperts). */
  readonly growth?: readonly GrowthRecord[];
}

/**
 * `meta.arch` of the meta block: SHA-256 of the config as JSON with sorted keys, taken as it was
 * before any growth (nExperts = baseExperts, no baseExperts). Growing a model therefore continues
 * its model version (its ParamIndex, histories and datasets; grow/version.ts); any other change
 * starts a new one.
 */
export function archOf(cfg: ModelConfig): string {
  const { baseExperts, ...rest } = cfg;
  return payloadHash(new TextEncoder().encode(canonicalConfigJson(baseExperts === undefined ? cfg : { ...rest, nExperts: baseExperts })));
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
  checkGrowth(x.growth, config);
  return x as unknown as MetaPayload;
}

/** `growth` is absent on a model that was never grown, else it accounts for experts [baseExperts, nExperts) exactly, in order. */
function checkGrowth(growth: unknown, config: ModelConfig): void {
  if (config.baseExperts === undefined) {
    if (growth !== undefined) fail('growth needs a model with config.baseExperts');
    return;
  }
  if (!Array.isArray(growth) || growth.length === 0) fail('a model with config.baseExperts must list its growth');
  let next = config.baseExperts;
  for (const [i, r] of (growth as Partial<GrowthRecord>[]).entries()) {
    const where = `growth[${i}]`;
    if (typeof r?.dataset !== 'string' || r.dataset.length === 0) fail(`${where}.dataset must name a dataset`);
    if (typeof r.datasetBlock !== 'string' || !/^[0-9a-f]{64}$/.test(r.datasetBlock)) fail(`${where}.datasetBlock must be a block hash`);
    if (r.first !== next) fail(`${where}.first must be ${next}, got ${String(r.first)}`);
    const sources = r.sources;
    if (!Array.isArray(sources) || sources.length !== config.nLayers) fail(`${where}.sources must list ${config.nLayers} layers`);
    const added = (sources[0] as unknown[] | undefined)?.length ?? 0;
    for (const [l, list] of sources.entries()) {
      if (!Array.isArray(list) || list.length !== added || added === 0) fail(`${where}.sources[${l}] must list ${added || 'at least one'} source experts`);
      for (const e of list) if (!Number.isInteger(e) || e < 0 || e >= next) fail(`${where}.sources[${l}]: source expert ${String(e)} is not in [0, ${next})`);
    }
    next += added;
  }
  if (next !== config.nExperts) fail(`growth adds experts up to ${next}, config.nExperts is ${config.nExperts}`);
}

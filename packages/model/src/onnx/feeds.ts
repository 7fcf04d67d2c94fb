import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../reference/config.ts';
import { parameterShapes, validateParams } from '../reference/params.ts';
import { type AllowedSet, type SequenceBudget, validateAllowed, validateBudgets } from '../reference/routing.ts';
import { checkTokens } from '../reference/tokens.ts';
import { EXPERT_BUDGETS, EXPERT_MASKS, PROMPT_LENGTHS, TARGETS, TOKENS } from './names.ts';

/** B sequences of T tokens and their next-token targets, row-major [B, T]. */
export interface Batch {
  readonly tokens: ArrayLike<number>;
  readonly targets: ArrayLike<number>;
  readonly B: number;
  readonly T: number;
  /** One per sequence, for a model with sequence budgets; omitted = every sequence routes dynamically. */
  readonly budgets?: readonly SequenceBudget[];
}

/** Per layer, the experts routing may use (null = all of them); omitted = dynamic routing everywhere. */
export type ExpertMasks = readonly AllowedSet[];

export type Feeds = Record<string, ort.Tensor>;

/** Throws unless `params` holds every parameter of `cfg` as a correctly sized Float32Array. */
export function checkParams(params: Readonly<Record<string, unknown>>, cfg: ModelConfig): asserts params is Readonly<Record<string, Float32Array>> {
  validateParams(params, cfg, 'all');
  if (!(params.embed instanceof Float32Array)) throw new Error('onnxruntime runs the model in float32: parameters must be Float32Arrays');
}

/** Every parameter as a float32 tensor of its shape (sharing the arrays' memory). */
export function paramFeeds(params: Readonly<Record<string, Float32Array>>, cfg: ModelConfig): Feeds {
  const feeds: Feeds = {};
  for (const { name, shape } of parameterShapes(cfg)) feeds[name] = new ort.Tensor('float32', params[name]!, [...shape]);
  return feeds;
}

/** tokens and targets as int64 [B, T] after checking sizes, ids and T ≤ contextLength. */
export function batchFeeds(batch: Batch, cfg: ModelConfig): Feeds {
  const { B, T } = batch;
  if (!Number.isSafeInteger(B) || B < 1 || !Number.isSafeInteger(T) || T < 1) throw new Error(`B and T must be positive integers, got B = ${B}, T = ${T}`);
  if (T > cfg.contextLength) throw new Error(`sequence length T = ${T} exceeds contextLength ${cfg.contextLength}`);
  const int64 = (ids: ArrayLike<number>, what: string): ort.Tensor =>
    new ort.Tensor('int64', BigInt64Array.from(checkTokens(ids, B * T, cfg.vocabSize, what), BigInt), [B, T]);
  return { [TOKENS]: int64(batch.tokens, 'tokens'), [TARGETS]: int64(batch.targets, 'targets') };
}

/** The expert masks input, float [nLayers, nExperts]: 1 = allowed. */
export function maskFeeds(masks: ExpertMasks | undefined, cfg: ModelConfig): Feeds {
  const { nLayers: L, nExperts: E } = cfg;
  if (masks !== undefined && masks.length !== L) throw new Error(`expert masks cover ${masks.length} layers, the model has ${L}`);
  const data = new Float32Array(L * E).fill(1);
  for (const [l, allowed] of (masks ?? []).entries()) {
    if (allowed === null) continue;
    validateAllowed(allowed, cfg, l);
    data.fill(0, l * E, (l + 1) * E);
    for (const e of allowed) data[l * E + e] = 1;
  }
  return { [EXPERT_MASKS]: new ort.Tensor('float32', data, [L, E]) };
}

/** A float scalar tensor. */
export const scalarFeed = (x: number): ort.Tensor => new ort.Tensor('float32', Float32Array.of(x), []);

/** The single float of a scalar output. */
export function scalarOf(outputs: ort.InferenceSession.ReturnType, name: string): number {
  const t = outputs[name];
  if (t === undefined || !(t.data instanceof Float32Array) || t.data.length !== 1) throw new Error(`graph output "${name}" is missing or not a float scalar`);
  return t.data[0]!;
}

/**
 * The budget inputs of a model with sequence budgets (float [B] each; omitted budgets = all
 * nExperts experts, chosen from the whole sequence: dynamic routing); nothing for a model without.
 */
export function budgetFeeds(batch: Batch, cfg: ModelConfig, masks: ExpertMasks | undefined): Feeds {
  const { budgets, B, T } = batch;
  if (cfg.sequenceBudgets === undefined) {
    if (budgets !== undefined) throw new Error('this model has no sequence budgets (config.sequenceBudgets): its graphs take no budget inputs');
    return {};
  }
  if (budgets !== undefined && masks !== undefined) throw new Error('give either expert masks (static routing) or sequence budgets, not both');
  if (budgets !== undefined && budgets.length !== B) throw new Error(`${budgets.length} sequence budgets for a batch of ${B} sequences`);
  if (budgets !== undefined) validateBudgets(budgets, cfg, T);
  const column = (of: (b: number) => number): ort.Tensor => new ort.Tensor('float32', Float32Array.from({ length: B }, (_, b) => of(b)), [B]);
  return {
    [EXPERT_BUDGETS]: column((b) => budgets?.[b]!.experts ?? cfg.nExperts),
    [PROMPT_LENGTHS]: column((b) => budgets?.[b]!.promptTokens ?? T),
  };
}

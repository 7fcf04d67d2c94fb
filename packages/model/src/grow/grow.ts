import type { ParamMap } from '../reference/arrays.ts';
import { type ModelConfig, routerBase, validateConfig } from '../reference/config.ts';
import { expertTensorNames, validateParams } from '../reference/params.ts';

/** A model's config and f32 parameters (ModelCheckpoint and GenesisModel fit). */
export interface GrowableModel {
  readonly config: ModelConfig;
  readonly params: Readonly<ParamMap>;
}

/**
 * Sparse upcycling (Komatsuzaki et al. 2022; BTX, Sukhbaatar et al. 2024): `sources[l]` names, per
 * layer, the existing experts the new ones start as, one new expert per source, all layers alike.
 * The grown model has nExperts + sources[l].length experts; new expert nExperts + i is a copy of
 * expert sources[l][i], and its router row is zero. config.baseExperts keeps the router's softmax
 * normalized over the experts the model had first (reference/ops/router.ts), so every probability
 * of an old expert, every top-K choice among old experts and every expert set chosen from a
 * prompt is computed exactly as before: a prompt that routes to no new expert gives the ungrown
 * model's logits bit for bit. A zero row scores exp(0 − max) / Z: a new expert is picked only
 * where every old logit but (topK − 1) is below zero, and training moves its row from there.
 * Pure: the given parameters are not modified; unchanged tensors are shared, not copied.
 */
export function growModel(model: GrowableModel, sources: readonly (readonly number[])[]): GrowableModel {
  const cfg = model.config;
  validateConfig(cfg);
  validateParams(model.params as ParamMap, cfg, 'all');
  if (sources.length !== cfg.nLayers) throw new Error(`grow: ${sources.length} source lists for ${cfg.nLayers} layers`);
  const added = sources[0]!.length;
  if (added < 1) throw new Error('grow: add at least one expert per layer');
  for (const [l, list] of sources.entries()) {
    if (list.length !== added) throw new Error(`grow: layer ${l} adds ${list.length} experts, layer 0 adds ${added}: every layer must add as many`);
    for (const e of list) if (!Number.isSafeInteger(e) || e < 0 || e >= cfg.nExperts) throw new Error(`grow: layer ${l}: source expert ${e} is not in [0, ${cfg.nExperts})`);
  }
  const E = cfg.nExperts;
  const config = grownConfig(cfg, added);
  const params: ParamMap = { ...model.params };
  for (const [l, list] of sources.entries()) {
    const router = params[`layers.${l}.router`]!;
    const grown = new Float32Array((E + added) * cfg.dModel);
    grown.set(router);
    params[`layers.${l}.router`] = grown;
    for (const [i, source] of list.entries()) {
      const from = expertTensorNames(l, source);
      const to = expertTensorNames(l, E + i);
      for (const w of ['w1', 'w3', 'w2'] as const) params[to[w]] = params[from[w]]!.slice();
    }
  }
  validateParams(params, config, 'all');
  return { config, params };
}

/** The config after adding `added` experts per layer: the router stays normalized over the experts the model had first. */
export const grownConfig = (cfg: ModelConfig, added: number): ModelConfig => ({ ...cfg, nExperts: cfg.nExperts + added, baseExperts: routerBase(cfg) });

/** What training a grown model's newest experts touches: their tensors, and the router rows past `firstRow` of each layer. */
export interface GrowthTraining {
  /** Parameter names to train: every layer's router and the new experts' w1, w3, w2. */
  readonly trainable: readonly string[];
  /** Leading rows of a trainable tensor that stay frozen: the old experts' router rows. */
  readonly frozenRows: Readonly<Record<string, number>>;
}

/** Training only experts [firstNew, nExperts) of every layer and their router rows; every other parameter frozen. */
export function growthTraining(cfg: ModelConfig, firstNew: number): GrowthTraining {
  if (!Number.isSafeInteger(firstNew) || firstNew < 1 || firstNew >= cfg.nExperts) throw new Error(`growthTraining: the first new expert must be in [1, ${cfg.nExperts}), got ${firstNew}`);
  const trainable: string[] = [];
  const frozenRows: Record<string, number> = {};
  for (let l = 0; l < cfg.nLayers; l++) {
    trainable.push(`layers.${l}.router`);
    frozenRows[`layers.${l}.router`] = firstNew;
    for (let e = firstNew; e < cfg.nExperts; e++) trainable.push(...Object.values(expertTensorNames(l, e)));
  }
  return { trainable, frozenRows };
}

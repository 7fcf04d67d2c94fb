import { type FloatArray, type ParamMap, zerosLike } from './arrays.ts';
import { type BlockActs, type BlockRun, blockBackward, blockForward } from './block.ts';
import { type ModelConfig, headDim, localityCoef, validateConfig } from './config.ts';
import { crossEntropyBackward, crossEntropyForward } from './ops/cross-entropy.ts';
import { embeddingBackward, embeddingForward } from './ops/embedding.ts';
import { matmulBackward, matmulForward } from './ops/matmul.ts';
import { rmsnormBackward, rmsnormForward } from './ops/rmsnorm.ts';
import { ropeTable } from './ops/rope.ts';
import { elementCount, layerWeights, parameterShapes, validateParams } from './params.ts';
import type { AllowedSet, LayerRouting, SequenceBudget } from './routing.ts';
import { checkTokens } from './tokens.ts';

/** Everything `forward` computed, kept for `backward`. Row arrays are [B·T, …]. */
export interface Activations<A extends FloatArray = Float32Array> {
  readonly B: number;
  readonly T: number;
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  readonly layers: readonly { readonly acts: BlockActs<A>; readonly run: BlockRun<A> & { readonly att: A } }[];
  /** Residual stream after the last block [B·T, d]. */
  readonly xFinal: A;
  readonly lnf: A;
  readonly rstdf: A;
  /** Output logits and their softmax [B·T, V]. */
  readonly logits: A;
  readonly probs: A;
  /** Cross-entropy per position [B·T]. */
  readonly losses: A;
  /** Mean cross-entropy. */
  readonly ce: number;
  /** Mean over layers of the load-balancing loss. */
  readonly aux: number;
  /** Mean over layers of the locality loss (ops/locality.ts). */
  readonly locality: number;
  /** The training objective: ce + auxLossCoef · aux (+ localityLossCoef · locality with sequence budgets). */
  readonly loss: number;
}

/** How `forward` routes: per layer, a set for every token (static routing), or one budget per sequence. */
export type TrainRouting = readonly AllowedSet[] | { readonly budgets: readonly SequenceBudget[] };

/**
 * Training forward pass over B sequences of T tokens (`inputs` and `targets` are [B, T]), keeping
 * every activation the backward pass needs. With an array of sets each layer routes within
 * `routing[layer]` (null or absent: all experts, i.e. dynamic routing); with `{ budgets }` each
 * sequence routes within its own budget in every layer.
 */
export function forward<A extends FloatArray>(
  params: ParamMap<A>,
  cfg: ModelConfig,
  inputs: ArrayLike<number>,
  targets: ArrayLike<number>,
  B: number,
  T: number,
  routing: TrainRouting = [],
): Activations<A> {
  validateConfig(cfg);
  validateParams(params, cfg, 'all');
  if (!Number.isSafeInteger(B) || B < 1 || !Number.isSafeInteger(T) || T < 1) throw new Error(`B and T must be positive integers, got B = ${B}, T = ${T}`);
  if (T > cfg.contextLength) throw new Error(`sequence length T = ${T} exceeds contextLength ${cfg.contextLength}`);
  const tokens = checkTokens(inputs, B * T, cfg.vocabSize, 'inputs');
  const labels = checkTokens(targets, B * T, cfg.vocabSize, 'targets');
  const n = B * T;
  const d = cfg.dModel;
  const V = cfg.vocabSize;
  const embed = params.embed!;
  const rope = ropeTable(T, headDim(cfg), cfg.ropeTheta);
  let x = zerosLike(embed, n * d);
  embeddingForward(x, tokens, embed, n, d);
  const layerRouting = (l: number): LayerRouting => ('budgets' in routing ? routing : ((routing as readonly AllowedSet[])[l] ?? null));
  const layers: { acts: BlockActs<A>; run: BlockRun<A> & { att: A } }[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const run = { B, T, start: 0, k: zerosLike(x, n * d), v: zerosLike(x, n * d), att: zerosLike(x, B * cfg.nHeads * T * T), rope, routing: layerRouting(l) };
    const acts = blockForward(layerWeights(params, cfg, l), x, cfg, l, run);
    layers.push({ acts, run });
    x = acts.out;
  }
  const lnf = zerosLike(x, n * d);
  const rstdf = zerosLike(x, n);
  rmsnormForward(lnf, rstdf, x, params.final_norm!, n, d, cfg.normEps);
  const logits = zerosLike(x, n * V);
  matmulForward(logits, lnf, embed, n, d, V);
  const probs = zerosLike(x, n * V);
  const losses = zerosLike(x, n);
  crossEntropyForward(losses, probs, logits, labels, n, V);
  let ce = 0;
  for (let t = 0; t < n; t++) ce += losses[t]!;
  ce /= n;
  const meanOverLayers = (of: (acts: BlockActs<A>) => number): number => layers.reduce((sum, { acts }) => sum + of(acts), 0) / cfg.nLayers;
  const aux = meanOverLayers((acts) => acts.moe.aux);
  const locality = meanOverLayers((acts) => acts.moe.locality);
  const loss = ce + cfg.auxLossCoef * aux + (cfg.sequenceBudgets ? localityCoef(cfg) * locality : 0);
  return { B, T, inputs: tokens, targets: labels, layers, xFinal: x, lnf, rstdf, logits, probs, losses, ce, aux, locality, loss };
}

/**
 * Gradients of `acts.loss` w.r.t. every parameter (same names and shapes as `params`). Experts that
 * received no tokens get zero gradients for w1, w3, w2. Pass `grads` to reuse buffers; they are
 * zeroed first.
 */
export function backward<A extends FloatArray>(params: ParamMap<A>, cfg: ModelConfig, acts: Activations<A>, grads?: ParamMap<A>): ParamMap<A> {
  const embed = params.embed!;
  const g: ParamMap<A> = grads ?? {};
  for (const { name, shape } of parameterShapes(cfg)) {
    const n = elementCount(shape);
    const t = g[name];
    if (t === undefined || t.length !== n) g[name] = zerosLike(embed, n);
    else t.fill(0);
  }
  const n = acts.B * acts.T;
  const d = cfg.dModel;
  const V = cfg.vocabSize;
  const dlosses = zerosLike(embed, n).fill(1 / n);
  const dlogits = zerosLike(embed, n * V);
  crossEntropyBackward(dlogits, dlosses, acts.probs, acts.targets, n, V);
  const dlnf = zerosLike(embed, n * d);
  matmulBackward(dlnf, g.embed!, dlogits, acts.lnf, embed, n, d, V);
  let dx = zerosLike(embed, n * d);
  rmsnormBackward(dx, g.final_norm!, dlnf, acts.xFinal, params.final_norm!, acts.rstdf, n, d);
  const daux = cfg.auxLossCoef / cfg.nLayers;
  const dlocality = localityCoef(cfg) / cfg.nLayers;
  for (let l = cfg.nLayers - 1; l >= 0; l--) {
    const { acts: blockActs, run } = acts.layers[l]!;
    dx = blockBackward(layerWeights(g, cfg, l), dx, layerWeights(params, cfg, l), blockActs, run, cfg, l, daux, dlocality);
  }
  embeddingBackward(g.embed!, dx, acts.inputs, n, d);
  return g;
}

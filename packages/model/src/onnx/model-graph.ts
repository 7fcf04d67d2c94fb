import { type ModelConfig, localityCoef } from '../reference/config.ts';
import { type BlockContext, type BlockSaved, blockBackward, blockForward } from './block-graph.ts';
import type { Value } from './graph-builder.ts';
import type { Graph } from './graph-ops.ts';
import { causalBias } from './layers/attention.ts';
import { type BudgetInputs, budgetAllowed, promptMask } from './layers/budgets.ts';
import { crossEntropyBackward, crossEntropyForward } from './layers/cross-entropy.ts';
import { type RmsnormSaved, rmsnormBackward, rmsnormForward } from './layers/rmsnorm.ts';
import { ropeInit } from './layers/rope.ts';
import type { Routing } from './layers/router.ts';
import { sequenceOf } from './layers/sequence.ts';

/**
 * The graph values the model reads: parameters by name, tokens and targets [B, T], masks
 * [nLayers, E], and with sequence budgets each sequence's budget.
 */
export interface ModelInputs {
  readonly param: (name: string) => Value;
  readonly tokens: Value;
  readonly targets: Value;
  readonly masks: Value;
  readonly budgets?: BudgetInputs;
}

/** The forward pass's results and everything modelBackward needs. */
export interface ModelForward {
  readonly ctx: BlockContext;
  /** Token ids and targets flattened to [n]. */
  readonly ids: Value;
  readonly labels: Value;
  readonly blocks: readonly BlockSaved[];
  readonly finalNorm: RmsnormSaved;
  readonly lnf: Value;
  /** [B, T, V], and the log-softmax of its rows as [n, V]. */
  readonly logits: Value;
  readonly logp: Value;
  /**
   * Scalars: mean cross-entropy, mean per-layer aux loss, with sequence budgets the mean per-layer
   * locality loss, and ce + auxLossCoef · aux (+ localityLossCoef · locality).
   */
  readonly ce: Value;
  readonly aux: Value;
  readonly locality?: Value;
  readonly loss: Value;
}

/**
 * The reference's training `forward`: embedding, the blocks, final RMSNorm, tied output projection,
 * mean cross-entropy and the mean aux loss; routing restricted by the expert masks and, with
 * sequence budgets, to each sequence's budget chosen from its prompt.
 */
export function modelForward(g: Graph, cfg: ModelConfig, inputs: ModelInputs): ModelForward {
  const p = inputs.param;
  const seq = sequenceOf(g, inputs.tokens, cfg);
  const ctx: BlockContext = { cfg, seq, rope: ropeInit(g, cfg, seq), causal: causalBias(g, seq), param: p };
  const allowed = g.cast(inputs.masks, 'bool');
  const ids = g.reshape(inputs.tokens, [-1]);
  const labels = g.reshape(inputs.targets, [-1]);
  let x = g.gather(p('embed'), ids, 0);
  const budgets = inputs.budgets;
  const mask = budgets && promptMask(g, budgets, seq);
  const blocks: BlockSaved[] = [];
  const routings: Routing[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const layerAllowed = g.gather(allowed, g.int(l), 0);
    const allowedFor = budgets && mask ? (probs: Value) => budgetAllowed(g, probs, layerAllowed, budgets, mask, seq, cfg) : () => layerAllowed;
    const block = blockForward(g, ctx, l, x, allowedFor);
    blocks.push(block.saved);
    routings.push(block.routing);
    x = block.out;
  }
  const final = rmsnormForward(g, x, p('final_norm'), cfg.normEps);
  const logits = g.matmul(g.reshape(final.y, seq.rows), g.transpose(p('embed'), [1, 0]));
  const { ce, logp } = crossEntropyForward(g, g.reshape(logits, [-1, cfg.vocabSize]), labels);
  const meanOverLayers = (values: Value[]): Value => g.div(g.sum(values), g.scalar(cfg.nLayers));
  const aux = meanOverLayers(routings.map((r) => r.aux));
  const loss = g.add(ce, g.mul(aux, g.scalar(cfg.auxLossCoef)));
  const localities = routings.flatMap((r) => (r.locality ? [r.locality.loss] : []));
  if (localities.length === 0) return { ctx, ids, labels, blocks, finalNorm: final.saved, lnf: final.y, logits, logp, ce, aux, loss };
  const locality = meanOverLayers(localities);
  const total = g.add(loss, g.mul(locality, g.scalar(localityCoef(cfg))));
  return { ctx, ids, labels, blocks, finalNorm: final.saved, lnf: final.y, logits, logp, ce, aux, locality, loss: total };
}

/** The layer of a per-layer parameter name ("layers.3.wq" → 3); undefined for embed and final_norm. */
const layerOf = (name: string): number | undefined => {
  const match = /^layers\.(\d+)\./.exec(name);
  return match ? Number(match[1]) : undefined;
};

/**
 * The reference's `backward` as graph ops: gradients of `fwd.loss` w.r.t. the parameters in
 * `wanted` (by name). Weight gradients nobody asked for are not computed, nor is the backward
 * pass below the lowest layer that holds a wanted parameter (unless the embedding is wanted).
 */
export function modelBackward(g: Graph, fwd: ModelForward, wanted: ReadonlySet<string>): Map<string, Value> {
  const { cfg, seq, param: p } = fwd.ctx;
  const grads = new Map<string, Value>();
  const grad = (name: string, compute: () => Value): void => {
    if (wanted.has(name)) grads.set(name, compute());
  };
  const dlogits = crossEntropyBackward(g, fwd.logp, fwd.labels, seq);
  const final = rmsnormBackward(g, g.matmul(dlogits, p('embed')), p('final_norm'), fwd.finalNorm);
  grad('final_norm', final.dw);
  const lowest = wanted.has('embed') ? 0 : Math.min(...[...wanted].map((name) => layerOf(name) ?? cfg.nLayers));
  let dx = final.dx;
  for (let l = cfg.nLayers - 1; l >= lowest; l--) {
    dx = blockBackward(g, fwd.ctx, fwd.blocks[l]!, dx, cfg.auxLossCoef / cfg.nLayers, localityCoef(cfg) / cfg.nLayers, grad, (name) => wanted.has(name));
  }
  grad('embed', () => g.scatterAdd(g.matmulTN(dlogits, fwd.lnf), g.unsqueeze(fwd.ids, [1]), dx));
  return grads;
}

import type { ModelConfig } from '../reference/config.ts';
import { expertTensorNames } from '../reference/params.ts';
import type { Value } from './graph-builder.ts';
import type { Graph } from './graph-ops.ts';
import { type AttentionSaved, attentionBackward, attentionForward } from './layers/attention.ts';
import { type ExpertsSaved, expertsBackward, expertsForward } from './layers/experts.ts';
import { type RmsnormSaved, rmsnormBackward, rmsnormForward } from './layers/rmsnorm.ts';
import type { Rope } from './layers/rope.ts';
import { type Routing, routerBackward, routerForward } from './layers/router.ts';
import type { Sequence } from './layers/sequence.ts';

/** What a block needs besides its weights: batch sizes, rotary tables and the causal bias. */
export interface BlockContext {
  readonly cfg: ModelConfig;
  readonly seq: Sequence;
  readonly rope: Rope;
  readonly causal: Value;
  /** Parameter values by name. */
  readonly param: (name: string) => Value;
}

/** Everything blockBackward needs from blockForward. */
export interface BlockSaved {
  readonly layer: number;
  readonly attnNorm: RmsnormSaved;
  readonly ln1: Value;
  readonly wqkv: Value;
  readonly attention: AttentionSaved;
  readonly atty: Value;
  readonly ffnNorm: RmsnormSaved;
  readonly ln2: Value;
  readonly routing: Routing;
  readonly experts: ExpertsSaved;
}

const layerTensor = (layer: number, tensor: string): string => `layers.${layer}.${tensor}`;

/**
 * Transformer block `layer` on the residual stream x [n, d], as the reference's blockForward:
 * x2 = x + wo · Attn(RMSNorm(x)), out = x2 + MoE(RMSNorm(x2)), routing within `allowedFor(probs)`
 * (bool [E] or [n, E], given the router's probabilities).
 */
export function blockForward(g: Graph, ctx: BlockContext, layer: number, x: Value, allowedFor: (probs: Value) => Value): { out: Value; routing: Routing; saved: BlockSaved } {
  const { cfg, seq } = ctx;
  const w = (tensor: string): Value => ctx.param(layerTensor(layer, tensor));
  const attnNorm = rmsnormForward(g, x, w('attn_norm'), cfg.normEps);
  const wqkv = g.concat([w('wq'), w('wk'), w('wv')], 0);
  const [q, k, v] = g.split(g.linear(attnNorm.y, wqkv), 1, 3) as [Value, Value, Value];
  const attention = attentionForward(g, q, k, v, seq, ctx.rope, ctx.causal, cfg.dModel / cfg.nHeads);
  const x2 = g.add(x, g.linear(attention.out, w('wo')));
  const ffnNorm = rmsnormForward(g, x2, w('ffn_norm'), cfg.normEps);
  const routing = routerForward(g, ffnNorm.y, w('router'), allowedFor, seq, cfg);
  const weights = Array.from({ length: cfg.nExperts }, (_, e) => {
    const names = expertTensorNames(layer, e);
    return { w1: ctx.param(names.w1), w3: ctx.param(names.w3), w2: ctx.param(names.w2) };
  });
  const experts = expertsForward(g, ffnNorm.y, weights, routing);
  const saved = {
    layer,
    attnNorm: attnNorm.saved,
    ln1: attnNorm.y,
    wqkv,
    attention: attention.saved,
    atty: attention.out,
    ffnNorm: ffnNorm.saved,
    ln2: ffnNorm.y,
    routing,
    experts: experts.saved,
  };
  return { out: g.add(x2, experts.out), routing, saved };
}

/**
 * Backward of blockForward given dout [n, d], daux and dlocality (the loss's derivatives w.r.t. this
 * layer's aux and locality losses): returns dx, and hands each weight gradient to
 * `grad(name, compute)`, which adds it to the graph only if that parameter's gradient is wanted.
 */
export function blockBackward(g: Graph, ctx: BlockContext, s: BlockSaved, dout: Value, daux: number, dlocality: number, grad: (name: string, compute: () => Value) => void, wanted: (name: string) => boolean): Value {
  const { cfg, seq } = ctx;
  const name = (tensor: string): string => layerTensor(s.layer, tensor);
  const w = (tensor: string): Value => ctx.param(name(tensor));
  const expertNames = Array.from({ length: cfg.nExperts }, (_, e) => expertTensorNames(s.layer, e));
  const experts = expertsBackward(g, dout, s.experts, (e) => Object.values(expertNames[e]!).some(wanted));
  for (const [e, names] of expertNames.entries()) {
    const eg = experts.grads[e];
    if (eg === undefined) continue;
    grad(names.w1, () => eg.w1);
    grad(names.w3, () => eg.w3);
    grad(names.w2, () => eg.w2);
  }
  const dlogits = routerBackward(g, experts.dweights, s.routing, daux, dlocality, seq, cfg);
  grad(name('router'), () => g.matmulTN(dlogits, s.ln2));
  const ffn = rmsnormBackward(g, g.add(experts.dh, g.matmul(dlogits, w('router'))), w('ffn_norm'), s.ffnNorm);
  grad(name('ffn_norm'), ffn.dw);
  const dx2 = g.add(dout, ffn.dx);
  grad(name('wo'), () => g.matmulTN(dx2, s.atty));
  const { dq, dk, dv } = attentionBackward(g, g.matmul(dx2, w('wo')), s.attention, seq, ctx.rope, cfg.dModel / cfg.nHeads);
  const dqkv = g.concat([dq, dk, dv], 1);
  if (['wq', 'wk', 'wv'].some((t) => wanted(name(t)))) {
    const [dwq, dwk, dwv] = g.split(g.matmulTN(dqkv, s.ln1), 0, 3) as [Value, Value, Value];
    grad(name('wq'), () => dwq);
    grad(name('wk'), () => dwk);
    grad(name('wv'), () => dwv);
  }
  const attn = rmsnormBackward(g, g.matmul(dqkv, s.wqkv), w('attn_norm'), s.attnNorm);
  grad(name('attn_norm'), attn.dw);
  return g.add(dx2, attn.dx);
}

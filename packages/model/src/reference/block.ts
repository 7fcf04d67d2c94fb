import { type FloatArray, view, zerosLike } from './arrays.ts';
import { type ModelConfig, headDim } from './config.ts';
import { type MoeActs, type MoeWeights, moeBackward, moeForward } from './moe.ts';
import { attentionBackward, attentionForward } from './ops/attention.ts';
import { matmulBackward, matmulForward } from './ops/matmul.ts';
import { residualBackward, residualForward } from './ops/residual.ts';
import { rmsnormBackward, rmsnormForward } from './ops/rmsnorm.ts';
import { type RopeTable, ropeBackward, ropeForward } from './ops/rope.ts';
import type { LayerRouting } from './routing.ts';

/** The tensors of one transformer block. */
export interface LayerWeights<A extends FloatArray = FloatArray> {
  readonly attnNorm: A;
  readonly wq: A;
  readonly wk: A;
  readonly wv: A;
  readonly wo: A;
  readonly ffnNorm: A;
  readonly moe: MoeWeights<A>;
}

/**
 * Where a block's rows come from and go to. The rows are B sequences of T tokens at positions
 * start … start+T−1; either start = 0 (training, any B) or B = 1 (inference). `k` and `v` receive
 * the rotated keys and the values of the new rows at rows [start, start+B·T) and hold the earlier
 * positions' rows before them (the KV cache). `att` [B, nHeads, T, T] receives the attention
 * probabilities for the backward pass (training), or is null.
 */
export interface BlockRun<A extends FloatArray = FloatArray> {
  readonly B: number;
  readonly T: number;
  readonly start: number;
  readonly k: A;
  readonly v: A;
  readonly att: A | null;
  readonly rope: RopeTable;
  readonly routing: LayerRouting;
}

/** Everything blockBackward needs; all [B·T, d] unless noted. */
export interface BlockActs<A extends FloatArray = FloatArray> {
  readonly x: A;
  readonly ln1: A;
  /** [B·T] */
  readonly rstd1: A;
  /** Rotated queries. */
  readonly q: A;
  readonly atty: A;
  /** x + attention output: the input of the MoE half. */
  readonly x2: A;
  readonly ln2: A;
  /** [B·T] */
  readonly rstd2: A;
  readonly moe: MoeActs<A>;
  /** The block's output: x2 + MoE output. */
  readonly out: A;
}

/** The block's first half, up to the MoE's input: x2 = x + Attn(RMSNorm(x)) and ln2 = RMSNorm(x2). */
export type AttentionActs<A extends FloatArray = FloatArray> = Omit<BlockActs<A>, 'moe' | 'out'>;

/** x → x2 = x + Attn(RMSNorm(x)) → out = x2 + MoE(RMSNorm(x2)). */
export function blockForward<A extends FloatArray>(w: LayerWeights<A>, x: A, cfg: ModelConfig, layer: number, run: BlockRun<A>): BlockActs<A> {
  return moeHalfForward(w, attentionHalfForward(w, x, cfg, run), cfg, layer, run);
}

/** blockForward's second half, on its first half's activations: out = x2 + MoE(ln2). */
export function moeHalfForward<A extends FloatArray>(w: LayerWeights<A>, half: AttentionActs<A>, cfg: ModelConfig, layer: number, run: BlockRun<A>): BlockActs<A> {
  const n = run.B * run.T;
  const moe = moeForward(w.moe, half.ln2, n, cfg, layer, run.routing, run.B);
  const out = zerosLike(half.x, n * cfg.dModel);
  residualForward(out, half.x2, moe.out, n * cfg.dModel);
  return { ...half, moe, out };
}

/** blockForward's first half (the attention, its KV cache rows written): x2 = x + Attn(RMSNorm(x)) and ln2 = RMSNorm(x2). */
export function attentionHalfForward<A extends FloatArray>(w: LayerWeights<A>, x: A, cfg: ModelConfig, run: BlockRun<A>): AttentionActs<A> {
  const { B, T, start, k, v, att, rope } = run;
  const n = B * T;
  const d = cfg.dModel;
  const H = cfg.nHeads;
  const hd = headDim(cfg);
  const ln1 = zerosLike(x, n * d);
  const rstd1 = zerosLike(x, n);
  rmsnormForward(ln1, rstd1, x, w.attnNorm, n, d, cfg.normEps);
  const q = zerosLike(x, n * d);
  const kNew = view(k, start * d, (start + n) * d);
  const vNew = view(v, start * d, (start + n) * d);
  matmulForward(q, ln1, w.wq, n, d, d);
  matmulForward(kNew, ln1, w.wk, n, d, d);
  matmulForward(vNew, ln1, w.wv, n, d, d);
  const atty = zerosLike(x, n * d);
  for (let b = 0; b < B; b++) {
    const rows = (a: A): A => view(a, b * T * d, (b + 1) * T * d);
    ropeForward(rows(q), rows(q), T, start, H, hd, rope);
    ropeForward(rows(kNew), rows(kNew), T, start, H, hd, rope);
    const history = (a: A): A => view(a, b * T * d, (b * T + start + T) * d);
    const attB = att && view(att, b * H * T * T, (b + 1) * H * T * T);
    attentionForward(rows(atty), attB, rows(q), history(k), history(v), T, start, H, hd);
  }
  const proj = zerosLike(x, n * d);
  matmulForward(proj, atty, w.wo, n, d, d);
  const x2 = zerosLike(x, n * d);
  residualForward(x2, x, proj, n * d);
  const ln2 = zerosLike(x, n * d);
  const rstd2 = zerosLike(x, n);
  rmsnormForward(ln2, rstd2, x2, w.ffnNorm, n, d, cfg.normEps);
  return { x, ln1, rstd1, q, atty, x2, ln2, rstd2 };
}

/**
 * Backward of a training blockForward (start = 0, `k`, `v`, `att` as filled there): accumulates the
 * weight gradients into `g` and returns the gradient w.r.t. the block's input x. `daux` and
 * `dlocality` are the loss's derivatives w.r.t. this layer's load-balancing and locality losses.
 */
export function blockBackward<A extends FloatArray>(
  g: LayerWeights<A>,
  dout: A,
  w: LayerWeights<A>,
  acts: BlockActs<A>,
  run: BlockRun<A> & { readonly att: A },
  cfg: ModelConfig,
  layer: number,
  daux: number,
  dlocality = 0,
): A {
  const { B, T, k, v, att, rope } = run;
  if (run.start !== 0) throw new Error('blockBackward supports training runs only (start = 0)');
  const n = B * T;
  const d = cfg.dModel;
  const H = cfg.nHeads;
  const hd = headDim(cfg);
  const zeros = (): A => zerosLike(dout, n * d);
  const dx2 = zeros();
  const dmoe = zeros();
  residualBackward(dx2, dmoe, dout, n * d);
  const dln2 = zeros();
  moeBackward(dln2, g.moe, dmoe, acts.ln2, w.moe, acts.moe, n, cfg, layer, daux, dlocality);
  rmsnormBackward(dx2, g.ffnNorm, dln2, acts.x2, w.ffnNorm, acts.rstd2, n, d);
  const dx = zeros();
  const dproj = zeros();
  residualBackward(dx, dproj, dx2, n * d);
  const datty = zeros();
  matmulBackward(datty, g.wo, dproj, acts.atty, w.wo, n, d, d);
  const dq = zeros();
  const dk = zeros();
  const dv = zeros();
  const dqIn = zeros();
  const dkIn = zeros();
  for (let b = 0; b < B; b++) {
    const rows = (a: A): A => view(a, b * T * d, (b + 1) * T * d);
    const attB = view(att, b * H * T * T, (b + 1) * H * T * T);
    attentionBackward(rows(dq), rows(dk), rows(dv), rows(datty), attB, rows(acts.q), rows(k), rows(v), T, H, hd);
    ropeBackward(rows(dqIn), rows(dq), T, 0, H, hd, rope);
    ropeBackward(rows(dkIn), rows(dk), T, 0, H, hd, rope);
  }
  const dln1 = zeros();
  matmulBackward(dln1, g.wq, dqIn, acts.ln1, w.wq, n, d, d);
  matmulBackward(dln1, g.wk, dkIn, acts.ln1, w.wk, n, d, d);
  matmulBackward(dln1, g.wv, dv, acts.ln1, w.wv, n, d, d);
  rmsnormBackward(dx, g.attnNorm, dln1, acts.x, w.attnNorm, acts.rstd1, n, d);
  return dx;
}

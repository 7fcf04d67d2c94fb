import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';
import { type Rope, ropeBackward, ropeForward } from './rope.ts';
import type { Sequence } from './sequence.ts';

/** What attentionBackward needs: rotated q and k, v as [B, H, T, hd], probabilities [B, H, T, T]. */
export interface AttentionSaved {
  readonly q: Value;
  readonly k: Value;
  readonly v: Value;
  readonly p: Value;
}

const TO_HEADS = [0, 2, 1, 3];
const SWAP_LAST = [0, 1, 3, 2];

/** [n, d] rows → [B, H, T, hd]. */
const splitHeads = (g: Graph, x: Value, seq: Sequence): Value => g.transpose(g.reshape(x, seq.heads), TO_HEADS);
/** [B, H, T, hd] → [B, T, d]. */
const mergeHeads = (g: Graph, x: Value, seq: Sequence): Value => g.reshape(g.transpose(x, TO_HEADS), seq.rows);

/** [T, T]: −∞ above the diagonal (the key comes after the query), 0 elsewhere; added to the scores. */
export function causalBias(g: Graph, seq: Sequence): Value {
  const pos = g.range(g.int(0), g.reshape(seq.T, []), g.int(1));
  return g.where(g.greater(g.unsqueeze(pos, [0]), g.unsqueeze(pos, [1])), g.scalar(-Infinity), g.scalar(0));
}

/**
 * Causal multi-head attention on q, k, v [n, d] (B sequences of T rows): rotary positions on q and
 * k, softmax(q·kᵀ / sqrt(hd)) over keys 0 … i for query i, times v. Returns [n, d].
 */
export function attentionForward(g: Graph, q: Value, k: Value, v: Value, seq: Sequence, rope: Rope, causal: Value, headDim: number): { out: Value; saved: AttentionSaved } {
  const rotate = (x: Value): Value => splitHeads(g, ropeForward(g, g.reshape(x, seq.rows), rope), seq);
  const q4 = rotate(q);
  const k4 = rotate(k);
  const v4 = splitHeads(g, v, seq);
  const scores = g.mul(g.matmul(q4, g.transpose(k4, SWAP_LAST)), g.scalar(1 / Math.sqrt(headDim)));
  const p = g.softmax(g.add(scores, causal), -1);
  const out = g.reshape(mergeHeads(g, g.matmul(p, v4), seq), seq.flat);
  return { out, saved: { q: q4, k: k4, v: v4, p } };
}

/**
 * dv = pᵀ · dout, dp = dout · vᵀ, ds = p ⊙ (dp − Σ_j p_j dp_j), dq = ds · k / sqrt(hd),
 * dk = dsᵀ · q / sqrt(hd), then the rotary transpose on dq and dk. Returns dq, dk, dv as [n, d].
 */
export function attentionBackward(g: Graph, dout: Value, saved: AttentionSaved, seq: Sequence, rope: Rope, headDim: number): { dq: Value; dk: Value; dv: Value } {
  const { q, k, v, p } = saved;
  const do4 = splitHeads(g, dout, seq);
  const dv4 = g.matmul(g.transpose(p, SWAP_LAST), do4);
  const dp = g.matmul(do4, g.transpose(v, SWAP_LAST));
  const ds = g.mul(p, g.sub(dp, g.reduceSum(g.mul(p, dp), [-1], true)));
  const scale = g.scalar(1 / Math.sqrt(headDim));
  const unrotate = (x4: Value): Value => g.reshape(ropeBackward(g, mergeHeads(g, g.mul(x4, scale), seq), rope), seq.flat);
  return {
    dq: unrotate(g.matmul(ds, k)),
    dk: unrotate(g.matmul(g.transpose(ds, SWAP_LAST), q)),
    dv: g.reshape(mergeHeads(g, dv4, seq), seq.flat),
  };
}

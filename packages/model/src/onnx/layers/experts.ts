import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';
import type { Routing } from './router.ts';

/** One expert's weights as graph values: w1 (gate) and w3 (up) [dFF, d], w2 (down) [d, dFF]. */
export interface ExpertValues {
  readonly w1: Value;
  readonly w3: Value;
  readonly w2: Value;
}

/** Gradients of one expert's weights. */
export type ExpertGrads = ExpertValues;

/** One expert's share of the batch (cnt tokens) and what the backward pass needs. */
interface ExpertSaved {
  readonly w: ExpertValues;
  /** Row indices of the routed tokens [cnt], and the same as ScatterND indices [cnt, 1]. */
  readonly rows: Value;
  readonly at: Value;
  /** Routing weights [cnt, 1], input rows [cnt, d], output rows before weighting [cnt, d]. */
  readonly weight: Value;
  readonly x: Value;
  readonly y: Value;
  /** [cnt, dFF]: w1 · x, w3 · x, σ(w1 · x), silu(w1 · x), silu(w1 · x) ⊙ w3 · x. */
  readonly h1: Value;
  readonly h3: Value;
  readonly gate: Value;
  readonly silu: Value;
  readonly act: Value;
}

export type ExpertsSaved = readonly ExpertSaved[];

/**
 * Each expert on the tokens routed to it only, as the reference does: gather its rows of h [n, d],
 * y = w2 · (silu(w1 · x) ⊙ w3 · x), and scatter-add weight · y back. Returns [n, d].
 */
export function expertsForward(g: Graph, h: Value, experts: readonly ExpertValues[], routing: Routing): { out: Value; saved: ExpertsSaved } {
  const saved = experts.map((w, e): ExpertSaved => {
    const column = (m: Value): Value => g.gather(m, g.int(e), 1);
    const nonzero = g.nonZero(column(routing.chosen));
    const rows = g.reshape(nonzero, [-1]);
    const x = g.gather(h, rows, 0);
    const h1 = g.linear(x, w.w1);
    const h3 = g.linear(x, w.w3);
    const gate = g.sigmoid(h1);
    const silu = g.mul(h1, gate);
    const act = g.mul(silu, h3);
    const weight = g.unsqueeze(g.gather(column(routing.weights), rows, 0), [1]);
    return { w, rows, at: g.transpose(nonzero, [1, 0]), weight, x, y: g.linear(act, w.w2), h1, h3, gate, silu, act };
  });
  const out = g.scatterAdd(g.filled(g.shape(h), 0), g.concat(saved.map((s) => s.at), 0), g.concat(saved.map((s) => g.mul(s.y, s.weight)), 0));
  return { out, saved };
}

/**
 * Backward of expertsForward given dout [n, d]: dh [n, d], dweights [n, E] (zero outside the
 * chosen experts), and the weight gradients of the experts for which `wanted(e)`. Per expert:
 * dy = weight · dout, dweight = dout · y, dact = dy · w2, dh1 = dact ⊙ h3 ⊙ silu'(h1),
 * dh3 = dact ⊙ silu(h1), dx = dh1 · w1 + dh3 · w3, with silu'(z) = σ(z) (1 + z (1 − σ(z))).
 */
export function expertsBackward(
  g: Graph,
  dout: Value,
  saved: ExpertsSaved,
  wanted: (expert: number) => boolean,
): { dh: Value; dweights: Value; grads: (ExpertGrads | undefined)[] } {
  const n = g.slice(g.shape(dout), g.ints([0]), g.ints([1]), [0]);
  const dxs: Value[] = [];
  const dcolumns: Value[] = [];
  const grads = saved.map((s, e) => {
    const doutRows = g.gather(dout, s.rows, 0);
    const dweight = g.reduceSum(g.mul(doutRows, s.y), [1], false);
    dcolumns.push(g.unsqueeze(g.scatterAdd(g.filled(n, 0), s.at, dweight), [1]));
    const dy = g.mul(doutRows, s.weight);
    const dact = g.matmul(dy, s.w.w2);
    const dsilu = g.mul(s.gate, g.add(g.scalar(1), g.mul(s.h1, g.sub(g.scalar(1), s.gate))));
    const dh1 = g.mul(g.mul(dact, s.h3), dsilu);
    const dh3 = g.mul(dact, s.silu);
    dxs.push(g.add(g.matmul(dh1, s.w.w1), g.matmul(dh3, s.w.w3)));
    return wanted(e) ? { w1: g.matmulTN(dh1, s.x), w3: g.matmulTN(dh3, s.x), w2: g.matmulTN(dy, s.act) } : undefined;
  });
  const dh = g.scatterAdd(g.filled(g.shape(dout), 0), g.concat(saved.map((s) => s.at), 0), g.concat(dxs, 0));
  return { dh, dweights: g.concat(dcolumns, 1), grads };
}

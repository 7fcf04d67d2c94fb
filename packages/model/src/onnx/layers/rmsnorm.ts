import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';

/** What rmsnormBackward needs: the normalized rows x̂ = x · r [n, C] and r [n, 1]. */
export interface RmsnormSaved {
  readonly xhat: Value;
  readonly r: Value;
}

/** y = x · r · w with r = 1 / sqrt(mean_c x_c² + eps), per row of x [n, C]. */
export function rmsnormForward(g: Graph, x: Value, w: Value, eps: number): { y: Value; saved: RmsnormSaved } {
  const r = g.reciprocal(g.sqrt(g.add(g.reduceMean(g.mul(x, x), [-1], true), g.scalar(eps))));
  const xhat = g.mul(x, r);
  return { y: g.mul(xhat, w), saved: { xhat, r } };
}

/**
 * With gw = dy · w:  dx = r · (gw − x̂ · mean_c(gw_c · x̂_c)),  dw = Σ_rows dy · x̂
 * (the reference's r · gw − x · r³ / C · Σ gw · x, rearranged). dw is added to the graph only
 * when called for.
 */
export function rmsnormBackward(g: Graph, dy: Value, w: Value, saved: RmsnormSaved): { dx: Value; dw: () => Value } {
  const { xhat, r } = saved;
  const gw = g.mul(dy, w);
  const dx = g.mul(r, g.sub(gw, g.mul(xhat, g.reduceMean(g.mul(gw, xhat), [-1], true))));
  return { dx, dw: () => g.reduceSum(g.mul(dy, xhat), [0], false) };
}

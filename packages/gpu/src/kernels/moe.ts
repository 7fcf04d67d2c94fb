import { type KernelSpec, kernelSpec, main1d, read, readWrite } from '../kernel.ts';
import { type RouteLayout, grownTag, routeBinding } from '../layout.ts';
import { LAYER, REDUCE_WGSL, STEP } from '../wgsl.ts';
import { statsStride } from './route.ts';

/**
 * The K slots of token t in ascending expert order: the order in which the reference adds the
 * experts' contributions, so results match it and never depend on scheduling. Calls
 * `body(slot)` with `let slot` in scope.
 */
function slotsByExpert(body: string): string {
  return `var prev = -1;
  for (var r = 0u; r < TOPK; r++) {
    var slot = 0u;
    var best = N_EXPERTS;
    for (var s = 0u; s < TOPK; s++) {
      let e = route[ROUTE_CHOSEN + t * TOPK + s];
      if (i32(e) > prev && e < best) { best = e; slot = s; }
    }
    prev = i32(best);
    ${body}
  }`;
}

/**
 * out[t] = x2[t] + Σ_slots gate[t, slot] · y[pos(t, slot)], one thread per (token, column) (a
 * grid1d of n · d): the weighted sum of the token's experts (in ascending expert order) added to
 * the residual stream.
 */
export function combineKernel(route: RouteLayout, d: number): KernelSpec {
  return kernelSpec(
    `combine d${d} K${route.topK}`,
    [STEP, routeBinding(route), read('gates'), read('y'), read('x2'), readWrite('out')],
    main1d(`step.n * ${d}u`, /* wgsl */ `
  let t = i / ${d}u;
  let c = i % ${d}u;
  var acc = 0.0;
  ${slotsByExpert(`acc += gates[t * TOPK + slot] * y[route[ROUTE_POS + t * TOPK + slot] * ${d}u + c];`)}
  out[i] = x2[i] + acc;`),
  );
}

/**
 * Backward of combineKernel's weighted sum, one workgroup per grouped row p (assignment a =
 * order[p] of token t): dy[p] = gate[a] · dout[t] and dgates[a] = dout[t] · y[p].
 */
export function combineBackwardKernel(route: RouteLayout, d: number): KernelSpec {
  return kernelSpec(
    `combine backward d${d} K${route.topK}`,
    [STEP, routeBinding(route), read('gates'), read('dout'), read('y'), readWrite('dy'), readWrite('dgates')],
    /* wgsl */ `
${REDUCE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = wid.x;
  if (p >= step.n * TOPK) { return; }
  let a = route[ROUTE_ORDER + p];
  let t = a / TOPK;
  let gate = gates[a];
  var dot = 0.0;
  for (var c = lid; c < ${d}u; c += 64u) {
    let g = dout[t * ${d}u + c];
    dy[p * ${d}u + c] = gate * g;
    dot += g * y[p * ${d}u + c];
  }
  dot = reduce_sum(lid, dot);
  if (lid == 0u) { dgates[a] = dot; }
}`,
  );
}

/**
 * Router backward per token (one thread each): through the renormalized top-K weights
 * (dprobs_j += (dg_j − Σ_i dg_i w_i) / S over the chosen j), the load-balancing loss
 * (dprobs_e += daux · E · f_e / n) and the softmax (dlogits = p ⊙ (dprobs − p · dprobs)).
 */
export function routerBackwardKernel(route: RouteLayout): KernelSpec {
  const E = route.experts;
  return kernelSpec(
    `router backward E${E}${grownTag(route)} K${route.topK}`,
    [STEP, LAYER, routeBinding(route), read('probs'), read('dgates'), read('stats'), readWrite('dlogits')],
    /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  if (t >= step.n) { return; }
  let o = t * N_EXPERTS;
  let c = ROUTE_CHOSEN + t * TOPK;
  var dp: array<f32, ${E}>;
  let auxScale = layer.daux * f32(N_EXPERTS) / f32(step.n);
  for (var e = 0u; e < N_EXPERTS; e++) { dp[e] = 0.0; }
  var sum = 0.0;
  for (var s = 0u; s < TOPK; s++) { sum += probs[o + route[c + s]]; }
  var dww = 0.0;
  for (var s = 0u; s < TOPK; s++) { dww += dgates[t * TOPK + s] * (probs[o + route[c + s]] / sum); }
  for (var s = 0u; s < TOPK; s++) {
    let e = route[c + s];
    dp[e] += (dgates[t * TOPK + s] - dww) / sum;
  }
  var pdp = 0.0;
  for (var e = 0u; e < N_EXPERTS; e++) {
    dp[e] += auxScale * stats[layer.layer * ${statsStride(E)}u + e];
    pdp += probs[o + e] * dp[e];
  }
  for (var e = 0u; e < N_EXPERTS; e++) { dlogits[o + e] = probs[o + e] * (dp[e] - select(0.0, pdp, e < N_BASE)); }
}`,
  );
}

/**
 * Gradient w.r.t. the MoE input (the normed residual) per (token, column), a grid1d of n · d:
 *   dx[t] = Σ_slots dxg[pos(t, slot)] (ascending expert order) + Σ_e dlogits[t, e] · router[e].
 */
export function moeInputGradKernel(route: RouteLayout, d: number): KernelSpec {
  return kernelSpec(
    `moe input grad d${d} E${route.experts}`,
    [STEP, routeBinding(route), read('dxg'), read('dlogits'), read('router'), readWrite('dx')],
    main1d(`step.n * ${d}u`, /* wgsl */ `
  let t = i / ${d}u;
  let c = i % ${d}u;
  var acc = 0.0;
  ${slotsByExpert(`acc += dxg[route[ROUTE_POS + t * TOPK + slot] * ${d}u + c];`)}
  for (var e = 0u; e < N_EXPERTS; e++) { acc += dlogits[t * N_EXPERTS + e] * router[e * ${d}u + c]; }
  dx[i] = acc;`),
  );
}

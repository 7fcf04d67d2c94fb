import { type KernelSpec, LINEAR_ID_WGSL, grid1d } from '../kernel.ts';
import { type RouteLayout, routeWgsl } from '../layout.ts';
import { LAYER_WGSL, REDUCE_WGSL, STEP_WGSL } from '../wgsl.ts';
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
 * out[t] = x2[t] + Σ_slots gate[t, slot] · y[pos(t, slot)], one thread per (token, column): the
 * weighted sum of the token's experts (in ascending expert order) added to the residual stream.
 */
export function combineKernel(route: RouteLayout, d: number): KernelSpec {
  return {
    label: `combine d${d} K${route.topK}`,
    bindings: ['step', 'route', 'gates', 'y', 'x2', 'out'],
    code: /* wgsl */ `
${STEP_WGSL}
${routeWgsl(route)}
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> route: array<u32>;
@group(0) @binding(2) var<storage, read> gates: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> x2: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${LINEAR_ID_WGSL};
  if (i >= step.n * ${d}u) { return; }
  let t = i / ${d}u;
  let c = i % ${d}u;
  var acc = 0.0;
  ${slotsByExpert(`acc += gates[t * TOPK + slot] * y[route[ROUTE_POS + t * TOPK + slot] * ${d}u + c];`)}
  out[i] = x2[i] + acc;
}`,
  };
}

export const rowGrid = (n: number, d: number) => grid1d(n * d);

/**
 * Backward of combineKernel's weighted sum, one workgroup per grouped row p (assignment a =
 * order[p] of token t): dy[p] = gate[a] · dout[t] and dgates[a] = dout[t] · y[p].
 */
export function combineBackwardKernel(route: RouteLayout, d: number): KernelSpec {
  return {
    label: `combine backward d${d} K${route.topK}`,
    bindings: ['step', 'route', 'gates', 'dout', 'y', 'dy', 'dgates'],
    code: /* wgsl */ `
${STEP_WGSL}
${REDUCE_WGSL}
${routeWgsl(route)}
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> route: array<u32>;
@group(0) @binding(2) var<storage, read> gates: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgates: array<f32>;
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
  };
}

/**
 * Router backward per token (one thread each): through the renormalized top-K weights
 * (dprobs_j += (dg_j − Σ_i dg_i w_i) / S over the chosen j), the load-balancing loss
 * (dprobs_e += daux · E · f_e / n) and the softmax (dlogits = p ⊙ (dprobs − p · dprobs)).
 */
export function routerBackwardKernel(route: RouteLayout): KernelSpec {
  const E = route.experts;
  return {
    label: `router backward E${E} K${route.topK}`,
    bindings: ['step', 'layer', 'route', 'probs', 'dgates', 'stats', 'dlogits'],
    code: /* wgsl */ `
${STEP_WGSL}
${LAYER_WGSL}
${routeWgsl(route)}
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> layer: LayerInfo;
@group(0) @binding(2) var<storage, read> route: array<u32>;
@group(0) @binding(3) var<storage, read> probs: array<f32>;
@group(0) @binding(4) var<storage, read> dgates: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>;
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
  for (var e = 0u; e < N_EXPERTS; e++) { dlogits[o + e] = probs[o + e] * (dp[e] - pdp); }
}`,
  };
}

/**
 * Gradient w.r.t. the MoE input (the normed residual) per (token, column):
 *   dx[t] = Σ_slots dxg[pos(t, slot)] (ascending expert order) + Σ_e dlogits[t, e] · router[e].
 */
export function moeInputGradKernel(route: RouteLayout, d: number): KernelSpec {
  return {
    label: `moe input grad d${d} E${route.experts}`,
    bindings: ['step', 'route', 'dxg', 'dlogits', 'router', 'dx'],
    code: /* wgsl */ `
${STEP_WGSL}
${routeWgsl(route)}
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> route: array<u32>;
@group(0) @binding(2) var<storage, read> dxg: array<f32>;
@group(0) @binding(3) var<storage, read> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read> router: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${LINEAR_ID_WGSL};
  if (i >= step.n * ${d}u) { return; }
  let t = i / ${d}u;
  let c = i % ${d}u;
  var acc = 0.0;
  ${slotsByExpert(`acc += dxg[route[ROUTE_POS + t * TOPK + slot] * ${d}u + c];`)}
  for (var e = 0u; e < N_EXPERTS; e++) { acc += dlogits[t * N_EXPERTS + e] * router[e * ${d}u + c]; }
  dx[i] = acc;
}`,
  };
}

import { MissingExpertError } from '@blyan/model';
import { type KernelSpec, kernelSpec, read, readWrite } from '../kernel.ts';
import { type RouteLayout, grownTag, routeBinding } from '../layout.ts';
import { LAYER, STEP } from '../wgsl.ts';

/** The `status` word before a pass: routeKernel lowers it to layer · E + expert on a missing expert. */
export const NO_MISSING_EXPERT = 0xffffffff;

/** The MissingExpertError a pass's `status` word reports, or null. */
export function missingExpert(status: number, experts: number): MissingExpertError | null {
  return status === NO_MISSING_EXPERT ? null : new MissingExpertError(Math.floor(status / experts), status % experts);
}

/** Per-layer routing statistics: E load fractions, E mean probabilities, the aux loss. */
export const statsStride = (experts: number): number => 2 * experts + 1;

/**
 * WGSL statements of the router's softmax over one token's logits, read by `logit(e)`: the max
 * subtracted, max and sum over the first `base` experts (a grown model's new experts share them),
 * `store(e, p)` for each of the `experts` probabilities. One source for routeKernel and the fused
 * decode MoE kernel; `store` may overwrite the logit it was computed from.
 */
export function routerSoftmaxWgsl(logit: (e: string) => string, store: (e: string, p: string) => string, base: string, experts: string): string {
  return `var mx = ${logit('0u')};
    for (var e = 1u; e < ${base}; e++) { mx = max(mx, ${logit('e')}); }
    var sum = 0.0;
    for (var e = 0u; e < ${base}; e++) { sum += exp(${logit('e')} - mx); }
    for (var e = 0u; e < ${experts}; e++) { ${store('e', `exp(${logit('e')} - mx) / sum`)} }`;
}

/**
 * Routing of one layer in a single 64-thread workgroup, from the router logits [n, E]:
 * 1. probs = softmax per token (max subtracted), max and sum over the N_BASE base experts (all but a
 *    grown model's new ones, whose scores share that max and sum);
 * 2. the experts tokens may use: all (routeMode 0), the layer's allowed flags (1), or (2) the
 *    chooseM experts with the largest summed probability over these tokens, ties to the lower
 *    index, which are stored as the allowed flags for later steps;
 * 3. top-K per token among them by probability, ties to the lower index, weights renormalized
 *    to sum 1 (`gates` [n, K]);
 * 4. the assignments grouped by expert in token order (see RouteLayout), cut into tiles of
 *    tileRows rows for the expert kernels;
 * 5. load fraction f_e, mean probability P_e and aux = E Σ f_e P_e into stats[layer];
 * 6. a token routed to an expert without weights (table slot < 0, and not the expert being
 *    trained, which has its own f32 copy) sets status to min(layer · E + expert), which the
 *    engine reports as MissingExpertError.
 * `table` holds per expert its pool slot (−1 = not loaded), then its allowed flag.
 * With `maskLayers` (the batched decode pass: row t is sequence t), step 3 also keeps to row t's own
 * allowed flags in layer l, `masks[(t · maskLayers + l) · E + e]` (the row masks: one u32 per
 * (row, layer, expert), row-major, 1 = the row may route to the expert in that layer), so every
 * sequence of a batch routes within its own expert budget in the same dispatch.
 */
export function routeKernel(route: RouteLayout, maskLayers: number | null = null): KernelSpec {
  const E = route.experts;
  const S = statsStride(E);
  const usable = maskLayers !== null ? `allowed[e] != 0u && masks[(t * ${maskLayers}u + layer.layer) * N_EXPERTS + e] != 0u` : 'allowed[e] != 0u';
  return kernelSpec(
    `route E${E}${grownTag(route)} K${route.topK} R${route.tileRows} rows${route.maxRows}${maskLayers !== null ? ` masks L${maskLayers}` : ''}`,
    [STEP, LAYER, read('logits'), readWrite('probs'), readWrite('gates'), routeBinding(route, true), readWrite('table', 'array<i32>'), readWrite('stats'), readWrite('status', 'atomic<u32>'), maskLayers !== null && read('masks', 'array<u32>')],
    /* wgsl */ `
var<workgroup> totals: array<f32, ${E}>;
var<workgroup> allowed: array<u32, ${E}>;
var<workgroup> counts: array<u32, ${E}>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = step.n;
  for (var t = lid; t < n; t += 64u) {
    let o = t * N_EXPERTS;
    ${routerSoftmaxWgsl((e) => `logits[o + ${e}]`, (e, p) => `probs[o + ${e}] = ${p};`, 'N_BASE', 'N_EXPERTS')}
  }
  storageBarrier();
  for (var e = lid; e < N_EXPERTS; e += 64u) {
    var total = 0.0;
    for (var t = 0u; t < n; t++) { total += probs[t * N_EXPERTS + e]; }
    totals[e] = total;
  }
  workgroupBarrier();
  for (var e = lid; e < N_EXPERTS; e += 64u) {
    var ok = 1u;
    if (step.routeMode == 1u) {
      ok = u32(table[N_EXPERTS + e]);
    } else if (step.routeMode == 2u) {
      var rank = 0u;
      for (var f = 0u; f < N_EXPERTS; f++) {
        if (totals[f] > totals[e] || (totals[f] == totals[e] && f < e)) { rank++; }
      }
      ok = select(0u, 1u, rank < step.chooseM);
      table[N_EXPERTS + e] = i32(ok);
    }
    allowed[e] = ok;
  }
  workgroupBarrier();
  for (var t = lid; t < n; t += 64u) {
    let o = t * N_EXPERTS;
    let c = ROUTE_CHOSEN + t * TOPK;
    var sum = 0.0;
    for (var slot = 0u; slot < TOPK; slot++) {
      var best = N_EXPERTS;
      for (var e = 0u; e < N_EXPERTS; e++) {
        if (!(${usable})) { continue; }
        var taken = false;
        for (var s = 0u; s < slot; s++) { if (route[c + s] == e) { taken = true; } }
        if (taken) { continue; }
        if (best == N_EXPERTS || probs[o + e] > probs[o + best]) { best = e; }
      }
      route[c + slot] = best;
      sum += probs[o + best];
    }
    for (var slot = 0u; slot < TOPK; slot++) { gates[t * TOPK + slot] = probs[o + route[c + slot]] / sum; }
  }
  storageBarrier();
  let assignments = n * TOPK;
  for (var e = lid; e < N_EXPERTS; e += 64u) {
    var count = 0u;
    for (var a = 0u; a < assignments; a++) { if (route[ROUTE_CHOSEN + a] == e) { count++; } }
    counts[e] = count;
    if (count > 0u && table[e] < 0 && e != layer.onlyExpert) { atomicMin(&status, layer.layer * N_EXPERTS + e); }
  }
  workgroupBarrier();
  if (lid == 0u) {
    var first = 0u;
    var tiles = 0u;
    var aux = 0.0;
    for (var e = 0u; e < N_EXPERTS; e++) {
      let count = counts[e];
      route[ROUTE_SEG_START + e] = first;
      route[ROUTE_SEG_COUNT + e] = count;
      for (var f = 0u; f < count; f += TILE_ROWS) {
        route[ROUTE_TILES + 3u * tiles] = e;
        route[ROUTE_TILES + 3u * tiles + 1u] = first + f;
        route[ROUTE_TILES + 3u * tiles + 2u] = min(TILE_ROWS, count - f);
        tiles++;
      }
      first += count;
      let load = f32(count) / f32(assignments);
      let meanProb = totals[e] / f32(n);
      stats[layer.layer * ${S}u + e] = load;
      stats[layer.layer * ${S}u + N_EXPERTS + e] = meanProb;
      aux += load * meanProb;
    }
    route[ROUTE_TILE_COUNT] = tiles;
    stats[layer.layer * ${S}u + 2u * N_EXPERTS] = f32(N_EXPERTS) * aux;
  }
  storageBarrier();
  for (var e = lid; e < N_EXPERTS; e += 64u) {
    var p = route[ROUTE_SEG_START + e];
    for (var a = 0u; a < assignments; a++) {
      if (route[ROUTE_CHOSEN + a] == e) {
        route[ROUTE_ORDER + p] = a;
        route[ROUTE_POS + a] = p;
        p++;
      }
    }
  }
}`,
  );
}

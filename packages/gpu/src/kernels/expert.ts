import { type Binding, type KernelSpec, WORKGROUP, kernelSpec, read, readWrite } from '../kernel.ts';
import { type ExpertLayout, type RouteLayout, routeBinding } from '../layout.ts';
import { type WeightType, matrixInput, weightInput } from '../loads.ts';
import { LAYER, SILU_WGSL, unroll } from '../wgsl.ts';
import { blockGrid, blockRows, columns, nnLoop, ntLoop, storeBlock } from './loops.ts';

/**
 * SwiGLU experts run only on their own tokens, as grouped matrix products over the tiles that
 * routeKernel leaves: workgroup row y handles tile y (up to tileRows assignments of one expert),
 * with that expert's weights. In int8 the weights come from the layer's pool at the expert's slot
 * (table[expert]) and layer.skipExpert is left out; in f32 (the expert being trained) only
 * layer.onlyExpert runs, from its own buffer laid out like one pool slot. Intermediate rows
 * [n·K, dFF] and output rows [n·K, d] are in grouped order: row p is route order position p.
 * h1 and h3 share one buffer [2, maxRows·K, dFF].
 */
export interface ExpertKernelOptions {
  readonly expert: ExpertLayout;
  readonly route: RouteLayout;
  /** int8 pool experts, or the trained expert in f32. */
  readonly weight: Exclude<WeightType, 'f16'>;
  /** Threads per workgroup of the forward kernels (4 output columns each); 64 by default. */
  readonly threads?: number;
}

const threadsOf = (o: ExpertKernelOptions): number => o.threads ?? WORKGROUP;
const threadsTag = (o: ExpertKernelOptions): string => (threadsOf(o) === WORKGROUP ? '' : ` wg${threadsOf(o)}`);

interface Grouped {
  readonly bindings: readonly Binding[];
  readonly fns: string;
  readonly prologue: string;
}

/** The first bindings and the tile/expert prologue shared by the grouped kernels. */
function grouped(o: ExpertKernelOptions, cols: number): Grouped {
  const { expert: x, weight } = o;
  const w = weightInput('w', weight, cols);
  const head = `
  let tile = gid.y;
  if (tile >= route[ROUTE_TILE_COUNT]) { return; }
  let expert = route[ROUTE_TILES + 3u * tile];
  let m0 = route[ROUTE_TILES + 3u * tile + 1u];
  let rows = m0 + route[ROUTE_TILES + 3u * tile + 2u];`;
  const select =
    weight === 'i8'
      ? `
  if (expert == layer.skipExpert) { return; }
  let slot = table[expert];
  if (slot < 0) { return; }
  let base = u32(slot) * ${x.elements}u;
  let sbase = u32(slot) * ${x.scales}u;`
      : `
  if (expert != layer.onlyExpert) { return; }
  let base = 0u;
  let sbase = 0u;`;
  return {
    bindings: [LAYER, routeBinding(o.route), ...(weight === 'i8' ? [read('table', 'array<i32>')] : []), ...w.bindings],
    fns: w.fns,
    prologue: `${head}${select}`,
  };
}

/**
 * The tile's rows as register blocks of the smallest height that holds them: `body(h)` for h =
 * tileRows, tileRows / 2, … down to 4 (while even), chosen by uniform branches on the tile's row
 * count (rows − m0), so a tile of an expert with few tokens does not run tileRows rows of
 * arithmetic. Tiles of 4 rows (training) have one height and no branch.
 */
function byHeight(tileRows: number, body: (h: number) => string): string {
  const heights = [tileRows];
  for (let h = tileRows; h > 4 && h % 2 === 0; ) heights.unshift((h /= 2));
  return heights.map((h, i) => (i === heights.length - 1 ? `{
${body(h)}
  }` : `if (rows - m0 <= ${h}u) {
${body(h)}
  }`)).join(' else ');
}

/** The row scales of the thread's four output columns, from scale section `at`. */
const scales = (at: number): string => [0, 1, 2, 3].map((j) => `w_s(sbase + ${at}u, oc[${j}])`).join(', ');

/** Offset of h3 in the shared [2, maxRows·K, dFF] buffer. */
const h3Offset = (o: ExpertKernelOptions): number => o.route.maxRows * o.route.topK * o.expert.dFF;

/**
 * act[p] = silu(w1 · x) ⊙ (w3 · x) for each assignment p, x being the routed token's row
 * (gathered through the route order). With `keep`, h1 = w1·x and h3 = w3·x are stored for backward.
 */
export function expertUpKernel(o: ExpertKernelOptions, keep: boolean): KernelSpec {
  const { d, dFF: F } = o.expert;
  const tm = o.route.tileRows;
  const g = grouped(o, d);
  const x = matrixInput('x', d);
  const H3 = h3Offset(o);
  return kernelSpec(
    `expert up ${o.weight} d${d} F${F} R${tm}${keep ? ' keep' : ''}${threadsTag(o)}`,
    [...g.bindings, ...x.bindings, readWrite('act'), keep && readWrite('h13')],
    /* wgsl */ `
${g.fns}
${x.fns}
fn put(m: u32, o0: u32, h1: vec4<f32>, h3: vec4<f32>) {
  let a = h1 / (1.0 + exp(-h1)) * h3;
  ${unroll(4, (j) => `if (o0 + ${j}u < ${F}u) {
    act[m * ${F}u + o0 + ${j}u] = a[${j}];
    ${keep ? `h13[m * ${F}u + o0 + ${j}u] = h1[${j}];\n    h13[${H3}u + m * ${F}u + o0 + ${j}u] = h3[${j}];` : ''}
  }`)}
}
@compute @workgroup_size(${threadsOf(o)})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${g.prologue}
  let o0 = gid.x * 4u;
  if (o0 >= ${F}u) { return; }
  ${columns(F)}
  let s1 = vec4<f32>(${scales(o.expert.s1)});
  let s3 = vec4<f32>(${scales(o.expert.s3)});
  ${byHeight(
    tm,
    (h) => `
  ${blockRows(h)}
  ${unroll(h, (r) => `let token${r} = route[ROUTE_ORDER + row${r}] / TOPK;`)}
  ${ntLoop(h, d, [{ id: 'g', load: 'w', base: `base + ${o.expert.w1}u` }, { id: 'u', load: 'w', base: `base + ${o.expert.w3}u` }], (r) => `x_4(token${r}, k)`)}
  ${unroll(h, (r) => `if (m0 + ${r}u < rows) { put(m0 + ${r}u, o0, acc_g_${r} * s1, acc_u_${r} * s3); }`)}`,
  )}
}`,
  );
}

/** y[p] = w2 · act[p]: the expert's output for each assignment, before its routing weight. */
export function expertDownKernel(o: ExpertKernelOptions): KernelSpec {
  const { d, dFF: F } = o.expert;
  const tm = o.route.tileRows;
  const g = grouped(o, F);
  const x = matrixInput('act', F);
  return kernelSpec(
    `expert down ${o.weight} d${d} F${F} R${tm}${threadsTag(o)}`,
    [...g.bindings, ...x.bindings, readWrite('y')],
    /* wgsl */ `
${g.fns}
${x.fns}
@compute @workgroup_size(${threadsOf(o)})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${g.prologue}
  let o0 = gid.x * 4u;
  if (o0 >= ${d}u) { return; }
  ${columns(d)}
  let s2 = vec4<f32>(${scales(o.expert.s2)});
  ${byHeight(
    tm,
    (h) => `
  ${blockRows(h)}
  ${ntLoop(h, F, [{ id: 'd', load: 'w', base: `base + ${o.expert.w2}u` }], (r) => `act_4(row${r}, k)`)}
  ${storeBlock(h, 'o0', d, (r, j) => `y[(m0 + ${r}u) * ${d}u + o0 + ${j}u] = acc_d_${r}[${j}] * s2[${j}];`)}`,
  )}
}`,
  );
}

/**
 * Backward through w2 and the SwiGLU gate for each assignment p, with dy[p] the gradient of y[p]:
 *   dact = dy · w2,  dh1 = dact ⊙ h3 ⊙ silu'(h1),  dh3 = dact ⊙ silu(h1),
 * silu'(z) = σ(z) (1 + z (1 − σ(z))); dh1 and dh3 go to dh13 laid out like h13.
 */
export function expertBackwardActKernel(o: ExpertKernelOptions): KernelSpec {
  const { d, dFF: F } = o.expert;
  const tm = o.route.tileRows;
  const g = grouped(o, F);
  const H3 = h3Offset(o);
  return kernelSpec(
    `expert backward act ${o.weight} d${d} F${F}`,
    [...g.bindings, read('dy'), read('h13'), readWrite('dh13')],
    /* wgsl */ `
${g.fns}
${SILU_WGSL}
fn put(m: u32, f: u32, dact: f32) {
  let z = h13[m * ${F}u + f];
  let h3 = h13[${H3}u + m * ${F}u + f];
  let sg = sigmoid(z);
  dh13[m * ${F}u + f] = dact * h3 * sg * (1.0 + z * (1.0 - sg));
  dh13[${H3}u + m * ${F}u + f] = dact * z * sg;
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${g.prologue}
  let k0 = gid.x * 4u;
  if (k0 >= ${F}u) { return; }
  ${blockRows(tm)}
  ${nnLoop(tm, d, [{ w: 'w', base: `base + ${o.expert.w2}u`, sbase: `sbase + ${o.expert.s2}u` }], (_, r) => `dy[row${r} * ${d}u + o]`)}
  ${storeBlock(tm, 'k0', F, (r, j) => `put(m0 + ${r}u, k0 + ${j}u, acc_${r}[${j}]);`)}
}`,
  );
}

/** dx[p] = dh1[p] · w1 + dh3[p] · w3: the gradient reaching each assignment's input row. */
export function expertBackwardInputKernel(o: ExpertKernelOptions): KernelSpec {
  const { d, dFF: F } = o.expert;
  const tm = o.route.tileRows;
  const g = grouped(o, d);
  const H3 = h3Offset(o);
  return kernelSpec(
    `expert backward input ${o.weight} d${d} F${F}`,
    [...g.bindings, read('dh13'), readWrite('dx')],
    /* wgsl */ `
${g.fns}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${g.prologue}
  let k0 = gid.x * 4u;
  if (k0 >= ${d}u) { return; }
  ${blockRows(tm)}
  ${nnLoop(
    tm,
    F,
    [
      { w: 'w', base: `base + ${o.expert.w1}u`, sbase: `sbase + ${o.expert.s1}u` },
      { w: 'w', base: `base + ${o.expert.w3}u`, sbase: `sbase + ${o.expert.s3}u` },
    ],
    (p, r) => `dh13[${p === 0 ? '' : `${H3}u + `}row${r} * ${F}u + o]`,
  )}
  ${storeBlock(tm, 'k0', d, (r, j) => `dx[(m0 + ${r}u) * ${d}u + k0 + ${j}u] = acc_${r}[${j}];`)}
}`,
  );
}

/** Workgroups of the forward expert kernels (`threads`: ExpertKernelOptions.threads). */
export const expertGrid = (columnsOut: number, tiles: number, threads?: number) => blockGrid(columnsOut, tiles, threads);

export interface WeightGradOptions {
  readonly route: RouteLayout;
  /** Rows of the weight (columns of g). */
  readonly rows: number;
  /** Columns of the weight (columns of x). */
  readonly cols: number;
  /** Element offset of g's rows in its buffer (dh3 after dh1). */
  readonly gOffset: number;
  /** Element offset of this weight in the gradient buffer (an ExpertLayout section). */
  readonly dwOffset: number;
  /** x rows are tokens, gathered through the route order (w1, w3), or grouped rows (w2). */
  readonly gather: boolean;
}

/**
 * Weight gradient of the trained expert (layer.onlyExpert), accumulated over micro-steps:
 *   dW[o, k] += Σ_p g[p, o] · x[row(p), k] over the expert's assignments p.
 * Each thread owns a 4 × 4 block of dW and loops over the assignments in order.
 */
export function expertWeightGradKernel(o: WeightGradOptions): KernelSpec {
  const { rows: O, cols: K } = o;
  const x = matrixInput('x', K);
  return kernelSpec(
    `expert weight grad ${O}×${K}${o.gather ? ' gather' : ''}`,
    [LAYER, routeBinding(o.route), read('g'), ...x.bindings, readWrite('dw')],
    /* wgsl */ `
${x.fns}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k0 = gid.x * 4u;
  let o0 = gid.y * 4u;
  if (k0 >= ${K}u || o0 >= ${O}u) { return; }
  ${columns(O)}
  let p0 = route[ROUTE_SEG_START + layer.onlyExpert];
  let p1 = p0 + route[ROUTE_SEG_COUNT + layer.onlyExpert];
  ${unroll(4, (j) => `var acc${j} = vec4<f32>(0.0);`)}
  for (var p = p0; p < p1; p++) {
    let xv = x_4(${o.gather ? 'route[ROUTE_ORDER + p] / TOPK' : 'p'}, k0);
    let gr = ${o.gOffset}u + p * ${O}u;
    ${unroll(4, (j) => `acc${j} += g[gr + oc[${j}]] * xv;`)}
  }
  ${unroll(4, (j) => `if (o0 + ${j}u < ${O}u) {
    ${unroll(4, (i) => `if (k0 + ${i}u < ${K}u) { let at = ${o.dwOffset}u + (o0 + ${j}u) * ${K}u + k0 + ${i}u; dw[at] = dw[at] + acc${j}[${i}]; }`)}
  }`)}
}`,
  );
}

export const weightGradGrid = (rows: number, cols: number) => blockGrid(cols, Math.ceil(rows / 4));

import { align4 } from './buffers.ts';
import { type Binding, read, readWrite } from './kernel.ts';

/**
 * Where one expert's tensors sit in an expert buffer: w1 (gate) [dFF, d], w3 (up) [dFF, d] and w2
 * (down) [d, dFF], each starting on a 4-element boundary (so int8 rows pack into whole u32 words),
 * and their row scales: s1 [dFF], s3 [dFF], s2 [d]. An int8 pool holds `slots` experts this way;
 * the trained expert's f32 buffers use the same offsets.
 */
export interface ExpertLayout {
  readonly d: number;
  readonly dFF: number;
  readonly w1: number;
  readonly w3: number;
  readonly w2: number;
  /** Elements (bytes for int8) per expert. */
  readonly elements: number;
  readonly s1: number;
  readonly s3: number;
  readonly s2: number;
  /** Scales per expert. */
  readonly scales: number;
}

export function expertLayout(d: number, dFF: number): ExpertLayout {
  const w = align4(d * dFF);
  return { d, dFF, w1: 0, w3: w, w2: 2 * w, elements: 3 * w, s1: 0, s3: dFF, s2: 2 * dFF, scales: 2 * dFF + d };
}

/**
 * The u32 buffer in which the routing kernel leaves, per layer, the token → expert assignments
 * grouped by expert, for kernels that run each expert only on its own tokens:
 *   [tileCount][segStart: E][segCount: E][tiles: maxTiles × (expert, first, count)]
 *   [order: assignments t·K + slot sorted by expert, then token][pos: position of each assignment
 *   in order][chosen: the K experts of each token, best first].
 * A tile is up to tileRows consecutive assignments of one expert: the row block of one workgroup.
 */
export interface RouteLayout {
  readonly experts: number;
  /** Experts the router softmax is normalized over: all but a grown model's new ones (@blyan/model routerBase). */
  readonly baseExperts: number;
  readonly topK: number;
  readonly tileRows: number;
  readonly maxRows: number;
  readonly maxTiles: number;
  readonly tileCount: number;
  readonly segStart: number;
  readonly segCount: number;
  readonly tiles: number;
  readonly order: number;
  readonly pos: number;
  readonly chosen: number;
  readonly words: number;
}

export function routeLayout(experts: number, topK: number, tileRows: number, maxRows: number, baseExperts = experts): RouteLayout {
  const assignments = maxRows * topK;
  const maxTiles = tileBound(experts, assignments, tileRows);
  const tiles = 1 + 2 * experts;
  const order = tiles + 3 * maxTiles;
  const pos = order + assignments;
  const chosen = pos + assignments;
  return { experts, baseExperts, topK, tileRows, maxRows, maxTiles, tileCount: 0, segStart: 1, segCount: 1 + experts, tiles, order, pos, chosen, words: chosen + assignments };
}

/** A kernel-name suffix that tells a grown model's routing apart: '' unless baseExperts < experts. */
export const grownTag = (route: Pick<RouteLayout, 'experts' | 'baseExperts'>): string => (route.baseExperts < route.experts ? ` base${route.baseExperts}` : '');

/** Σ_e ceil(count_e / R) ≤ floor(A / R) + (number of non-empty experts) for A assignments. */
function tileBound(experts: number, assignments: number, tileRows: number): number {
  return Math.floor(assignments / tileRows) + Math.min(experts, assignments);
}

/** Tiles a pass of n rows can produce: the workgroup rows an expert kernel dispatches. */
export const tilesFor = (route: RouteLayout, n: number): number => Math.min(route.maxTiles, tileBound(route.experts, n * route.topK, route.tileRows));

/** The `route` binding (array<u32>), with the layout's offsets as WGSL constants; written only by the routing kernel. */
export const routeBinding = (route: RouteLayout, writable = false): Binding => (writable ? readWrite : read)('route', 'array<u32>', routeWgsl(route));

function routeWgsl(route: RouteLayout): string {
  return [
    `const TOPK = ${route.topK}u;`,
    `const N_EXPERTS = ${route.experts}u;`,
    `const N_BASE = ${route.baseExperts}u;`,
    `const TILE_ROWS = ${route.tileRows}u;`,
    `const ROUTE_TILE_COUNT = ${route.tileCount}u;`,
    `const ROUTE_SEG_START = ${route.segStart}u;`,
    `const ROUTE_SEG_COUNT = ${route.segCount}u;`,
    `const ROUTE_TILES = ${route.tiles}u;`,
    `const ROUTE_ORDER = ${route.order}u;`,
    `const ROUTE_POS = ${route.pos}u;`,
    `const ROUTE_CHOSEN = ${route.chosen}u;`,
  ].join('\n');
}

/** WGSL shared by the kernels, and helpers to write WGSL from TypeScript. */
import { uniform } from './kernel.ts';

/**
 * Per-submission parameters, one uniform buffer per pass that every kernel reads, in struct order
 * with their WGSL types.
 * n: rows in this pass (prompt length, 1 when decoding, B·T when training);
 * start: position of the first row (the KV cache length); seqLen: rows per sequence (T);
 * lastRow: the row whose logits are sampled; temperature, topK, topP, draw: sampling (draw is the
 * uniform variate in [0, 1)); routeMode: 0 = top-K over all experts, 1 = within each layer's
 * allowed set, 2 = choose chooseM experts per layer from these rows' router probabilities and
 * store them as the allowed set.
 */
const STEP_FIELDS = { n: 'u32', start: 'u32', seqLen: 'u32', lastRow: 'u32', temperature: 'f32', topK: 'u32', topP: 'f32', draw: 'f32', routeMode: 'u32', chooseM: 'u32' } as const;

export type StepFields = { [K in keyof typeof STEP_FIELDS]: number };

const STEP_ENTRIES = Object.entries(STEP_FIELDS) as [keyof StepFields, 'u32' | 'f32'][];

export const STEP_BYTES = 4 * STEP_ENTRIES.length;

export const STEP = uniform('step', 'Step', `struct Step {\n${STEP_ENTRIES.map(([name, type]) => `  ${name}: ${type},`).join('\n')}\n}`);

export const ROUTE_ALL = 0;
export const ROUTE_ALLOWED = 1;
export const ROUTE_CHOOSE = 2;

export function encodeStep(fields: Partial<StepFields>): ArrayBuffer {
  const bytes = new ArrayBuffer(STEP_BYTES);
  const u = new Uint32Array(bytes);
  const f = new Float32Array(bytes);
  for (const [i, [name, type]] of STEP_ENTRIES.entries()) (type === 'f32' ? f : u)[i] = fields[name] ?? (name === 'topP' ? 1 : 0);
  return bytes;
}

/**
 * Per-layer parameters: the layer index (for error reports), the expert the int8 expert kernels
 * skip and the only expert the f32 ones run (both NO_EXPERT when unused: the trained expert runs
 * in f32), and daux, the loss's derivative w.r.t. this layer's load-balancing loss.
 */
export const LAYER = uniform(
  'layer',
  'LayerInfo',
  /* wgsl */ `
struct LayerInfo {
  layer: u32,
  skipExpert: u32,
  onlyExpert: u32,
  daux: f32,
}`,
);

const LAYER_BYTES = 16;
export const NO_EXPERT = 0xffffffff;

export function encodeLayer(layer: number, skipExpert: number, onlyExpert: number, daux: number): ArrayBuffer {
  const bytes = new ArrayBuffer(LAYER_BYTES);
  new Uint32Array(bytes, 0, 3).set([layer, skipExpert, onlyExpert]);
  new Float32Array(bytes, 12, 1)[0] = daux;
  return bytes;
}

/** How floats are stored in a buffer; arithmetic is f32 either way. */
export type Storage = 'f32' | 'f16';

/** A float as a WGSL f32 literal. */
export function f32Literal(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot write ${x} as a WGSL literal`);
  return `${x.toExponential()}f`;
}

/** Lines f(0) … f(n−1), for unrolled register blocks. */
export function unroll(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join('\n');
}

/**
 * Four signed bytes of a u32 (little-endian: byte 0 is the lowest element) as floats: each byte
 * shifted to the top and arithmetically back (two constant vector shifts; SwiftShader runs the
 * generic extractBits several times slower).
 */
export const UNPACK_I8_WGSL = /* wgsl */ `
fn unpack_i8(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<i32>(bitcast<i32>(w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
`;

/** Sum and max over a 64-thread workgroup; call from uniform control flow. */
export const REDUCE_WGSL = /* wgsl */ `
var<workgroup> red: array<f32, 64>;
fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

export const SILU_WGSL = /* wgsl */ `
fn sigmoid(z: f32) -> f32 { return 1.0 / (1.0 + exp(-z)); }`;

import { type KernelSpec, WORKGROUP, kernelSpec, read, readWrite } from '../kernel.ts';
import { type WeightType, matrixInput, weightInput } from '../loads.ts';
import { STEP, type Storage, unroll } from '../wgsl.ts';
import { blockGrid, blockRows, columns, nnLoop, ntLoop, storeBlock } from './loops.ts';

export interface LinearOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: WeightType;
  /** Rows per thread (register block height): 1 for decoding, 4 for prompts and training. */
  readonly rowsPerThread: number;
  /** 'step': the step's n rows; 'last': only row step.lastRow, written as row 0 (the logits sampled from). */
  readonly rows: 'step' | 'last';
  /** Write row m at row start + m (appending keys and values to the KV cache). */
  readonly outRowOffset: boolean;
  /** y = res + x · Wᵀ (the residual connection after the attention projection). */
  readonly residual: boolean;
  /** How y is stored (f16: the KV cache of an f16 engine); f32 by default. */
  readonly out?: Storage;
  /**
   * > 0: write row m at row m · cacheRows + positions[m] (appending each sequence's token to its
   * own KV cache of cacheRows rows, batched decoding); outRowOffset must be false.
   */
  readonly cacheRows?: number;
  /** Threads per workgroup (4 output columns each); 64 by default. */
  readonly threads?: number;
}

/**
 * Linear layer y[m, o] = Σ_k x[m, k] · W[o, k] with W [out, in] in f32, f16, or int8 with one
 * scale per output row, widened in registers (the weights stay int8 / f16 in GPU memory); sums
 * in f32, rounded once when y is stored as f16.
 */
export function linearKernel(o: LinearOptions): KernelSpec {
  const { inFeatures: In, outFeatures: Out, rowsPerThread: tm } = o;
  const yType = o.out ?? 'f32';
  const x = matrixInput('x', In);
  const w = weightInput('w', o.weight, In);
  const rowCount = o.rows === 'step' ? 'step.n' : '1u';
  const source = (r: number): string => (o.rows === 'step' ? `row${r}` : 'step.lastRow');
  const cacheRows = o.cacheRows ?? 0;
  if (cacheRows > 0 && o.outRowOffset) throw new Error('linearKernel: cacheRows and outRowOffset exclude each other');
  const threads = o.threads ?? WORKGROUP;
  const dst = (m: string): string => (cacheRows > 0 ? `(${m} * ${cacheRows}u + positions[${m}]) * ${Out}u` : `(${o.outRowOffset ? 'step.start + ' : ''}${m}) * ${Out}u`);
  return kernelSpec(
    `linear ${In}→${Out} ${o.weight} tm${tm} ${o.rows}${o.outRowOffset ? ' offset' : ''}${cacheRows ? ` sequences of ${cacheRows}` : ''}${o.residual ? ' residual' : ''}${yType === 'f16' ? ' f16 out' : ''}${threads === WORKGROUP ? '' : ` wg${threads}`}`,
    [STEP, ...x.bindings, ...w.bindings, readWrite('y', `array<${yType}>`), o.residual && read('res'), cacheRows > 0 && read('positions', 'array<u32>')],
    /* wgsl */ `
${x.fns}
${w.fns}
fn put(m: u32, o0: u32, v: vec4<f32>) {
  ${unroll(4, (j) => `if (o0 + ${j}u < ${Out}u) { y[${dst('m')} + o0 + ${j}u] = ${yType}(${o.residual ? `res[m * ${Out}u + o0 + ${j}u] + ` : ''}v[${j}]); }`)}
}
@compute @workgroup_size(${threads})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let rows = ${rowCount};
  let o0 = gid.x * 4u;
  let m0 = gid.y * ${tm}u;
  if (o0 >= ${Out}u || m0 >= rows) { return; }
  ${columns(Out)}
  ${blockRows(tm)}
  ${ntLoop(tm, In, [{ id: 'w', load: 'w', base: '0u' }], (r) => `x_4(${source(r)}, k)`)}
  let sc = vec4<f32>(w_s(0u, oc[0]), w_s(0u, oc[1]), w_s(0u, oc[2]), w_s(0u, oc[3]));
  ${unroll(tm, (r) => `if (m0 + ${r}u < rows) { put(m0 + ${r}u, o0, acc_w_${r} * sc); }`)}
}`,
  );
}

export const linearGrid = (o: Pick<LinearOptions, 'outFeatures' | 'rowsPerThread' | 'threads'>, rows: number) => blockGrid(o.outFeatures, Math.ceil(rows / o.rowsPerThread), o.threads);

export interface LinearBackwardOptions {
  /** Rows of each weight (its output dimension) = columns of each incoming gradient. */
  readonly outFeatures: number;
  /** Columns of each weight = columns of the result. */
  readonly inFeatures: number;
  /** How many (gradient, weight) pairs are summed: 3 for the q, k, v projections. */
  readonly pairs: number;
  readonly rowsPerThread: number;
  /** Storage of the frozen weights; f32 by default. */
  readonly weight?: Storage;
}

/**
 * Input gradient of linear layers sharing an input, through frozen f32 or f16 weights:
 *   dx[m, k] = Σ_p Σ_o g_p[m, o] · W_p[o, k]   for the step's n rows.
 */
export function linearBackwardKernel(o: LinearBackwardOptions): KernelSpec {
  const { outFeatures: Out, inFeatures: In, pairs, rowsPerThread: tm } = o;
  const weight = o.weight ?? 'f32';
  const ws = Array.from({ length: pairs }, (_, p) => weightInput(`w${p}`, weight, In));
  return kernelSpec(
    `linear backward ${Out}→${In} ×${pairs} tm${tm} ${weight}`,
    [STEP, ...ws.flatMap((w, p) => [read(`g${p}`), ...w.bindings]), readWrite('dx')],
    /* wgsl */ `
${ws.map((w) => w.fns).join('\n')}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let rows = step.n;
  let k0 = gid.x * 4u;
  let m0 = gid.y * ${tm}u;
  if (k0 >= ${In}u || m0 >= rows) { return; }
  ${blockRows(tm)}
  ${nnLoop(
    tm,
    Out,
    ws.map((_, p) => ({ w: `w${p}`, base: '0u', sbase: '0u' })),
    (p, r) => `g${p}[row${r} * ${Out}u + o]`,
  )}
  ${storeBlock(tm, 'k0', In, (r, j) => `dx[(m0 + ${r}u) * ${In}u + k0 + ${j}u] = acc_${r}[${j}];`)}
}`,
  );
}

export const linearBackwardGrid = (o: Pick<LinearBackwardOptions, 'inFeatures' | 'rowsPerThread'>, rows: number) => blockGrid(o.inFeatures, Math.ceil(rows / o.rowsPerThread));

/**
 * A kernel is WGSL specialized for one set of shapes, plus the names of its bindings in @binding
 * order. Pipelines are compiled once per device and code (cached), bind groups are made once per
 * set of buffers by name, and a pass replays them.
 */
export interface KernelSpec {
  readonly label: string;
  readonly code: string;
  readonly bindings: readonly string[];
  /** The bindings the kernel may write (read_write storage); the others are only read. */
  readonly writable: readonly string[];
}

/**
 * One binding of a kernel: its name, how WGSL declares it (`var<space> name: type`) and the WGSL
 * that declaration relies on (a uniform's struct, a buffer's layout constants).
 */
export interface Binding {
  readonly name: string;
  readonly space: 'uniform' | 'storage, read' | 'storage, read_write';
  readonly type: string;
  readonly needs?: string;
}

export const uniform = (name: string, type: string, needs: string): Binding => ({ name, space: 'uniform', type, needs });
export const read = (name: string, type = 'array<f32>', needs?: string): Binding => ({ name, space: 'storage, read', type, needs });
export const readWrite = (name: string, type = 'array<f32>', needs?: string): Binding => ({ name, space: 'storage, read_write', type, needs });

/**
 * The spec of a kernel whose module is `code` after the declarations of `bindings` (@binding 0, 1,
 * … in order; `false` leaves out an optional one) and what they need, opened with `enable f16;`
 * when a binding stores f16 (the device needs 'shader-f16').
 */
export function kernelSpec(label: string, bindings: readonly (Binding | false)[], code: string): KernelSpec {
  const used = bindings.filter((b) => b !== false);
  const header = [
    ...(used.some((b) => b.type.includes('f16')) ? ['enable f16;'] : []),
    ...used.flatMap((b) => (b.needs ? [b.needs] : [])),
    ...used.map((b, i) => `@group(0) @binding(${i}) var<${b.space}> ${b.name}: ${b.type};`),
  ];
  return { label, bindings: used.map((b) => b.name), writable: used.filter((b) => b.space === 'storage, read_write').map((b) => b.name), code: `${header.join('\n')}\n${code}` };
}

export interface Kernel {
  readonly spec: KernelSpec;
  readonly pipeline: GPUComputePipeline;
}

export type Resource = GPUBuffer | GPUBufferBinding;

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

async function compile(device: GPUDevice, spec: KernelSpec): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ label: spec.label, code: spec.code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0) {
    throw new Error(`WGSL of kernel ${spec.label} does not compile:\n${errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
  }
  return device.createComputePipelineAsync({ label: spec.label, layout: 'auto', compute: { module, entryPoint: 'main' } });
}

export async function compileKernel(device: GPUDevice, spec: KernelSpec): Promise<Kernel> {
  let byCode = pipelines.get(device);
  if (!byCode) {
    byCode = new Map();
    pipelines.set(device, byCode);
  }
  let pipeline = byCode.get(spec.code);
  if (!pipeline) {
    pipeline = compile(device, spec);
    byCode.set(spec.code, pipeline);
    pipeline.catch(() => byCode.delete(spec.code));
  }
  return { spec, pipeline: await pipeline };
}

/** A bind group with exactly the kernel's bindings, each given by name. */
export function bindKernel(device: GPUDevice, kernel: Kernel, resources: Readonly<Record<string, Resource>>): GPUBindGroup {
  const names = kernel.spec.bindings;
  for (const name of Object.keys(resources)) if (!names.includes(name)) throw new Error(`kernel ${kernel.spec.label} has no binding "${name}"`);
  const entries = names.map((name, binding) => {
    const r = resources[name];
    if (r === undefined) throw new Error(`kernel ${kernel.spec.label}: binding "${name}" is missing`);
    return { binding, resource: 'buffer' in r ? r : { buffer: r } };
  });
  return device.createBindGroup({ label: kernel.spec.label, layout: kernel.pipeline.getBindGroupLayout(0), entries });
}

/**
 * Bytes one binding of a dispatch touches, for a pass over `rows` rows with `keys` rows in the KV
 * cache once the pass has run (its own included).
 */
export type Extent = (rows: number, keys: number) => number;

/** What a dispatch reads and writes (bytes), for `rows` rows and `keys` cached rows. */
export type Traffic = (rows: number, keys: number) => { readonly read: number; readonly written: number };

const boundSize = (r: Resource): number => ('buffer' in r ? (r.size ?? r.buffer.size - (r.offset ?? 0)) : r.size);

/**
 * The traffic of `kernel` over `resources`: per binding its extent (at most the bound range; a
 * binding without one touches the whole range), counted as written when the kernel may write it
 * (read_write: a read-modify-write counts once, as written) and as read otherwise. Each byte
 * counts once per dispatch, however many workgroups load it (caches absorb the repeats).
 */
export function traffic(kernel: Kernel, resources: Readonly<Record<string, Resource>>, extentOf: (name: string, r: Resource) => Extent | undefined): Traffic {
  const parts = Object.entries(resources).map(([name, r]) => ({ writable: kernel.spec.writable.includes(name), size: boundSize(r), extent: extentOf(name, r) }));
  return (rows, keys) => {
    let [read, written] = [0, 0];
    for (const { writable, size, extent } of parts) {
      const bytes = extent ? Math.min(size, extent(rows, keys)) : size;
      if (writable) written += bytes;
      else read += bytes;
    }
    return { read, written };
  };
}

/** One recorded dispatch: a pipeline, its bind group, a workgroup count and traffic for a pass's row count. */
export interface Dispatch {
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: (n: number) => readonly [number, number, number];
  readonly traffic: Traffic;
}

/**
 * What passes have encoded, counted as they are recorded (deterministic, not timed): dispatches
 * and the bytes they read and write (Traffic), plus buffer copies.
 */
export interface DispatchCounts {
  dispatches: number;
  bytesRead: number;
  bytesWritten: number;
}

export const noDispatches = (): DispatchCounts => ({ dispatches: 0, bytesRead: 0, bytesWritten: 0 });

/** Encodes `dispatches` for n rows (`keys` cached rows after them), setting a pipeline only when it changes. */
export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[], n: number, keys: number, counts: DispatchCounts): void {
  let pipeline: GPUComputePipeline | null = null;
  for (const d of dispatches) {
    const [x, y, z] = d.workgroups(n);
    if (x === 0 || y === 0 || z === 0) continue;
    if (d.kernel.pipeline !== pipeline) pass.setPipeline((pipeline = d.kernel.pipeline));
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    const { read, written } = d.traffic(n, keys);
    counts.dispatches++;
    counts.bytesRead += read;
    counts.bytesWritten += written;
  }
}

/** Encodes a copy of `bytes` from byte `fromOffset` of `from` to `toOffset` of `to`, counting them as read and written. */
export function encodeCopy(encoder: GPUCommandEncoder, from: GPUBuffer, fromOffset: number, to: GPUBuffer, toOffset: number, bytes: number, counts: DispatchCounts): void {
  encoder.copyBufferToBuffer(from, fromOffset, to, toOffset, bytes);
  counts.bytesRead += bytes;
  counts.bytesWritten += bytes;
}

export const WORKGROUP = 64;
const MAX_GRID = 65535;

/** Workgroup counts covering `threads` threads of a 1-D kernel that uses `linearId` below. */
export function grid1d(threads: number): readonly [number, number, number] {
  const groups = Math.ceil(threads / WORKGROUP);
  if (groups <= MAX_GRID) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GRID);
  return [Math.ceil(groups / y), y, 1];
}

/** WGSL: the entry point of a grid1d dispatch over `threads` threads, running `body` with thread index `i`. */
export function main1d(threads: string, body: string): string {
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (i >= ${threads}) { return; }${body}
}`;
}

/** Compiles every spec of `specs` (in parallel), keeping their names. */
export async function compileAll<S extends Record<string, KernelSpec>>(device: GPUDevice, specs: S): Promise<{ readonly [K in keyof S]: Kernel }> {
  const names = Object.keys(specs);
  const kernels = await Promise.all(names.map((name) => compileKernel(device, specs[name]!)));
  return Object.fromEntries(names.map((name, i) => [name, kernels[i]!])) as unknown as { readonly [K in keyof S]: Kernel };
}

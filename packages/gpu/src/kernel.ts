/**
 * A kernel is WGSL specialized for one set of shapes, plus the names of its bindings in @binding
 * order. Pipelines are compiled once per device and code (cached), bind groups are made once per
 * set of buffers by name, and a pass replays them.
 */
export interface KernelSpec {
  readonly label: string;
  readonly code: string;
  readonly bindings: readonly string[];
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

/** One recorded dispatch: a pipeline, its bind group and a workgroup count for a pass's row count. */
export interface Dispatch {
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: (n: number) => readonly [number, number, number];
}

export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[], n: number): void {
  for (const d of dispatches) {
    const [x, y, z] = d.workgroups(n);
    if (x === 0 || y === 0 || z === 0) continue;
    pass.setPipeline(d.kernel.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }
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

/** WGSL: the thread index of a grid1d dispatch. */
export const LINEAR_ID_WGSL = 'gid.x + gid.y * nwg.x * 64u';

/** Compiles every spec of `specs` (in parallel), keeping their names. */
export async function compileAll<S extends Record<string, KernelSpec>>(device: GPUDevice, specs: S): Promise<{ readonly [K in keyof S]: Kernel }> {
  const names = Object.keys(specs);
  const kernels = await Promise.all(names.map((name) => compileKernel(device, specs[name]!)));
  return Object.fromEntries(names.map((name, i) => [name, kernels[i]!])) as unknown as { readonly [K in keyof S]: Kernel };
}

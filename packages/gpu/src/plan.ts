import { type Dispatch, type DispatchCounts, type Extent, type Kernel, type Resource, bindKernel, traffic } from './kernel.ts';
import { NO_MISSING_EXPERT, missingExpert } from './kernels/route.ts';
import { type StepFields, encodeStep } from './wgsl.ts';

/** Extents: n rows of `bytes` each (activations, rows gathered from a table, KV rows appended). */
export const rowsOf = (bytes: number): Extent => (rows) => rows * bytes;
/** The cached rows of `bytes` each, up to the pass's last (attention reading the KV cache). */
export const keysOf = (bytes: number): Extent => (_, keys) => keys * bytes;
/** A fixed number of bytes whatever the rows (the last row only, a few chosen experts). */
export const bytesOf = (bytes: number): Extent => () => bytes;

/**
 * Recording of a pass: the dispatches are bound once (pipelines, bind groups, buffers fixed at
 * creation) and replayed for every step with the step's row count; only uniforms change. `extents`
 * says how much of a resource a pass of n rows touches (activation rows, say); a dispatch may
 * override it per binding. Other bindings count whole (weights).
 */
export class Plan {
  readonly dispatches: Dispatch[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly extents: ReadonlyMap<Resource, Extent> = new Map(),
  ) {}

  add(kernel: Kernel, resources: Readonly<Record<string, Resource>>, workgroups: (n: number) => readonly [number, number, number], extents: Readonly<Record<string, Extent>> = {}): void {
    for (const name of Object.keys(extents)) if (!(name in resources)) throw new Error(`kernel ${kernel.spec.label}: an extent for "${name}", which it does not bind`);
    const extentOf = (name: string, r: Resource) => extents[name] ?? this.extents.get(r);
    this.dispatches.push({ kernel, bindGroup: bindKernel(this.device, kernel, resources), workgroups, traffic: traffic(kernel, resources, extentOf) });
  }
}

/** Submissions and readbacks so far (what a token costs in GPU round trips), and what they encoded. */
export interface Counters extends DispatchCounts {
  submissions: number;
  readbacks: number;
}

/** A MAP_READ buffer of a few words, reused for every readback of one pass kind. */
export class Readback {
  private readonly buffer: GPUBuffer;

  constructor(
    device: GPUDevice,
    label: string,
    readonly words: number,
  ) {
    this.buffer = device.createBuffer({ label, size: words * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  copy(encoder: GPUCommandEncoder, from: GPUBuffer, fromWord: number, toWord: number, words = 1): void {
    encoder.copyBufferToBuffer(from, fromWord * 4, this.buffer, toWord * 4, words * 4);
  }

  async read(counters: Counters): Promise<ArrayBuffer> {
    counters.readbacks++;
    await this.buffer.mapAsync(GPUMapMode.READ);
    const out = this.buffer.getMappedRange().slice(0);
    this.buffer.unmap();
    return out;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

/** The buffers a routed pass is submitted with (submitPass). */
export interface PassIO {
  readonly step: GPUBuffer;
  /** The routing status word (NO_MISSING_EXPERT, or the first missing expert: routeKernel). */
  readonly status: GPUBuffer;
  /** Where the pass leaves its results (sampled tokens). */
  readonly result: GPUBuffer;
  /** Result words first, the status in its last word. */
  readonly readback: Readback;
}

/**
 * One submission of a routed pass: `fields` to the step uniform, the status reset, the
 * dispatches `encode` records in one compute pass, then the first `words` result words and the
 * status read back in one readback. Throws the MissingExpertError the status reports; returns the
 * result words.
 */
export async function submitPass(device: GPUDevice, counters: Counters, io: PassIO, experts: number, fields: Partial<StepFields>, words: number, encode: (pass: GPUComputePassEncoder) => void): Promise<Uint32Array<ArrayBuffer>> {
  device.queue.writeBuffer(io.step, 0, encodeStep(fields));
  device.queue.writeBuffer(io.status, 0, new Uint32Array([NO_MISSING_EXPERT]));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encode(pass);
  pass.end();
  if (words > 0) io.readback.copy(encoder, io.result, 0, 0, words);
  io.readback.copy(encoder, io.status, 0, io.readback.words - 1);
  device.queue.submit([encoder.finish()]);
  counters.submissions++;
  const read = new Uint32Array(await io.readback.read(counters));
  const missing = missingExpert(read[io.readback.words - 1]!, experts);
  if (missing) throw missing;
  return read.subarray(0, words);
}

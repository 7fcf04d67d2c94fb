import { type Dispatch, type DispatchCounts, type Extent, type Kernel, type Resource, bindKernel, traffic } from './kernel.ts';

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
    words: number,
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

import { type Dispatch, type DispatchCounts, type Kernel, type Resource, bindKernel, boundBytes } from './kernel.ts';

/**
 * Recording of a pass: the dispatches are bound once (pipelines, bind groups, buffers fixed at
 * creation) and replayed for every step with the step's row count; only uniforms change.
 */
export class Plan {
  readonly dispatches: Dispatch[] = [];

  constructor(private readonly device: GPUDevice) {}

  add(kernel: Kernel, resources: Readonly<Record<string, Resource>>, workgroups: (n: number) => readonly [number, number, number]): void {
    this.dispatches.push({ kernel, bindGroup: bindKernel(this.device, kernel, resources), workgroups, bytes: boundBytes(kernel, resources) });
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

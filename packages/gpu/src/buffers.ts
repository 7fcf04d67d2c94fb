/** Buffer creation, uploads of typed-array views without copies, and readbacks. */
import type { Counters } from './plan.ts';

export function storageBuffer(device: GPUDevice, label: string, bytes: number): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
}

export function uniformBuffer(device: GPUDevice, label: string, bytes: number): GPUBuffer {
  return device.createBuffer({ label, size: Math.ceil(bytes / 16) * 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
}

/** A uniform buffer holding `contents`. */
export function uniformWith(device: GPUDevice, label: string, contents: ArrayBuffer): GPUBuffer {
  const buffer = uniformBuffer(device, label, contents.byteLength);
  device.queue.writeBuffer(buffer, 0, contents);
  return buffer;
}

/**
 * Writes the bytes of `view` at byte `offset` (a multiple of 4) straight from its ArrayBuffer. A
 * length that is not a multiple of 4 (an int8 tensor of odd size) has its last 1 to 3 bytes sent
 * in a zero-padded word.
 */
export function writeView(queue: GPUQueue, buffer: GPUBuffer, offset: number, view: ArrayBufferView): void {
  const whole = view.byteLength - (view.byteLength % 4);
  if (whole > 0) queue.writeBuffer(buffer, offset, view.buffer, view.byteOffset, whole);
  if (whole < view.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(new Uint8Array(view.buffer, view.byteOffset + whole, view.byteLength - whole));
    queue.writeBuffer(buffer, offset + whole, tail);
  }
}

/** Copies `bytes` bytes from `offset` of `buffer` to the CPU (one submission, one map, both counted in `counters` when given). */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, offset: number, bytes: number, counters?: Counters): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  if (counters) {
    counters.submissions++;
    counters.readbacks++;
  }
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

export const align4 = (n: number): number => Math.ceil(n / 4) * 4;

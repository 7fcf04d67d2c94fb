import { expect } from 'vitest';
import { storageBuffer, uniformBuffer, writeView, readBuffer } from '../src/buffers.ts';
import { type KernelSpec, type Resource, bindKernel, compileKernel } from '../src/kernel.ts';
import { nodeGpuDevice } from '../src/node-device.ts';
import { Rng } from '@blyan/model';
import { STEP_BYTES, type StepFields, encodeStep } from '../src/wgsl.ts';

let shared: Promise<GPUDevice> | null = null;

/** One device per test file (Dawn on SwiftShader in this repository's CI). */
export function gpuDevice(): Promise<GPUDevice> {
  shared ??= nodeGpuDevice();
  return shared;
}

export type Data = Float32Array | Uint32Array | Int32Array | Int8Array;

export function upload(device: GPUDevice, data: Data, label = 'input'): GPUBuffer {
  const buffer = storageBuffer(device, label, data.byteLength);
  writeView(device.queue, buffer, 0, data);
  return buffer;
}

/** NaN bit pattern the outputs are filled with before a kernel runs: any survivor was never written. */
export const POISON = 0xffc0dead;

export function poisoned(device: GPUDevice, elements: number, label = 'output'): GPUBuffer {
  return upload(device, new Uint32Array(elements).fill(POISON), label);
}

export function stepUniform(device: GPUDevice, fields: Partial<StepFields>): GPUBuffer {
  const buffer = uniformBuffer(device, 'step', STEP_BYTES);
  device.queue.writeBuffer(buffer, 0, encodeStep(fields));
  return buffer;
}

export async function readF32(device: GPUDevice, buffer: GPUBuffer, elements: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buffer, offset * 4, elements * 4));
}

export async function readU32(device: GPUDevice, buffer: GPUBuffer, elements: number, offset = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, buffer, offset * 4, elements * 4));
}

/** Compiles `spec`, binds `resources` and runs one dispatch of `grid` workgroups. */
export async function runKernel(device: GPUDevice, spec: KernelSpec, resources: Record<string, Resource>, grid: readonly [number, number, number]): Promise<void> {
  const kernel = await compileKernel(device, spec);
  device.pushErrorScope('validation');
  const bindGroup = bindKernel(device, kernel, resources);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(kernel.pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...grid);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`${spec.label}: ${error.message}`);
}

export function randomNormal(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

export function randomTokens(rng: Rng, n: number, vocab: number): Uint32Array {
  return Uint32Array.from({ length: n }, () => rng.nextUint32() % vocab);
}

/** max |a − b| over max |b|: the error relative to the tensor's scale. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

export const F32_TOLERANCE = 1e-4;

/** Every element written (no poison left) and within `tolerance` of the reference. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = F32_TOLERANCE): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let unwritten = 0;
  for (let i = 0; i < actual.length; i++) if (Number.isNaN(actual[i]!)) unwritten++;
  expect(unwritten, `${what}: elements left unwritten (NaN)`).toBe(0);
  expect(relativeError(actual, expected), `${what}: relative error`).toBeLessThan(tolerance);
}

export { Rng };

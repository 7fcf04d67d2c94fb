import { f16BitsToF32, toF16, toF32 } from '@blyan/block';
import { expect } from 'vitest';
import { storageBuffer, uniformWith, writeView, readBuffer } from '../src/buffers.ts';
import { type KernelSpec, type Resource, bindKernel, compileKernel } from '../src/kernel.ts';
import { nodeGpuDevice } from '../src/node-device.ts';
import { Rng } from '@blyan/model';
import { type StepFields, encodeStep } from '../src/wgsl.ts';

let shared: Promise<GPUDevice> | null = null;

/** One device per test file (Dawn on SwiftShader in this repository's CI). */
export function gpuDevice(): Promise<GPUDevice> {
  shared ??= nodeGpuDevice();
  return shared;
}

let sharedF16: Promise<GPUDevice> | null = null;

/**
 * One device with 'shader-f16' per test file, for the f16 paths: Mesa's lavapipe (from Debian
 * bookworm-backports; .ci/run installs it). Without it the f16 tests fail, naming the install
 * step: they never pass by skipping.
 */
export function f16Device(): Promise<GPUDevice> {
  sharedF16 ??= nodeGpuDevice('lavapipe').then((device) => {
    if (!device.features.has('shader-f16')) throw new Error(`the lavapipe device has no shader-f16 (adapter: ${device.adapterInfo.description}); the f16 tests need Mesa ≥ 25 from bookworm-backports, as .ci/run installs`);
    return device;
  });
  return sharedF16;
}

export type Data = Float32Array | Uint32Array | Int32Array | Int8Array | Uint16Array;

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
  return uniformWith(device, 'step', encodeStep(fields));
}

export async function readF32(device: GPUDevice, buffer: GPUBuffer, elements: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buffer, offset * 4, elements * 4));
}

/** f16 elements read back as f32 values (copied from the buffer's start: offsets must be 4-byte aligned). */
export async function readF16(device: GPUDevice, buffer: GPUBuffer, elements: number, offset = 0): Promise<Float32Array> {
  const bits = new Uint16Array(await readBuffer(device, buffer, 0, (offset + elements) * 2), offset * 2, elements);
  return Float32Array.from(bits, f16BitsToF32);
}

/** f16 NaN bits: poison for f16 outputs. */
export const POISON_F16 = 0x7fff;

/** `values` rounded to f16: the bits to upload, the rounded values, and the original ones. */
export function asF16(values: Float32Array): { bits: Uint16Array; rounded: Float32Array; original: Float32Array } {
  const t = toF16(values, [values.length]);
  return { bits: t.data, rounded: toF32(t), original: values };
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

/**
 * The f16 bound: relative error (max |a − b| / max |b|) against the f32 reference on unrounded
 * inputs, after f16 storage of weights, tables or the KV cache (f32 arithmetic). f16 keeps 11
 * significant bits: one rounding is ≤ 2⁻¹¹ ≈ 4.9e-4 of an element.
 */
export const F16_TOLERANCE = 2e-3;

/** Every element written (no poison left) and within `tolerance` of the reference. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = F32_TOLERANCE): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let unwritten = 0;
  for (let i = 0; i < actual.length; i++) if (Number.isNaN(actual[i]!)) unwritten++;
  expect(unwritten, `${what}: elements left unwritten (NaN)`).toBe(0);
  expect(relativeError(actual, expected), `${what}: relative error`).toBeLessThan(tolerance);
}

export { Rng };

/** Every token a generation yields, in order. */
export async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

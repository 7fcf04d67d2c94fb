import { existsSync } from 'node:fs';
import { requestGpuDevice } from './device.ts';

/** Debian's chromium package ships SwiftShader, a software Vulkan driver: a GPU-less machine can still run WebGPU. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * A WebGPU device in Node through Dawn (the `webgpu` package). Points the Vulkan loader at
 * SwiftShader when VK_ICD_FILENAMES is unset and the driver is installed. Throws
 * GpuUnavailableError when no adapter comes up.
 */
export async function nodeGpuDevice(): Promise<GPUDevice> {
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (!instance) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    instance = create([]);
  }
  return requestGpuDevice(instance);
}

/**
 * The Dawn instance lives as long as the process: when its GPU object is garbage-collected while
 * its devices are still in use, Dawn's threads crash the process (futex / mutex aborts).
 */
let instance: GPU | null = null;

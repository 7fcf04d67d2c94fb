import { GpuUnavailableError } from './errors.ts';

/**
 * Limits the engine asks for beyond WebGPU's defaults: as much buffer and workgroup memory as the
 * adapter offers (bigger models and longer contexts), and 8 storage buffers per stage (the default,
 * the most any kernel here binds).
 */
const RAISED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'] as const;
const MIN_STORAGE_BUFFERS = 8;

/**
 * A device from `gpu` (navigator.gpu in a browser, the `webgpu` package's GPU in Node), with the
 * 'shader-f16' feature when the adapter offers it (the engine's f16 paths). Throws
 * GpuUnavailableError with the reason when there is no WebGPU, no adapter, or an adapter too
 * limited for the engine's kernels.
 */
export async function requestGpuDevice(gpu: GPU | undefined, options: GPURequestAdapterOptions = {}): Promise<GPUDevice> {
  if (!gpu) throw new GpuUnavailableError('WebGPU is not available in this environment (no navigator.gpu); use the CPU reference');
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(options);
  } catch (e) {
    throw new GpuUnavailableError(`requesting a WebGPU adapter failed: ${(e as Error).message}; use the CPU reference`);
  }
  if (!adapter) throw new GpuUnavailableError('no WebGPU adapter is available (requestAdapter returned null); use the CPU reference');
  if (adapter.limits.maxStorageBuffersPerShaderStage < MIN_STORAGE_BUFFERS) {
    throw new GpuUnavailableError(`the WebGPU adapter allows ${adapter.limits.maxStorageBuffersPerShaderStage} storage buffers per shader stage; the engine needs ${MIN_STORAGE_BUFFERS}`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  try {
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
    return await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'blyan' });
  } catch (e) {
    throw new GpuUnavailableError(`the WebGPU adapter refused a device: ${(e as Error).message}; use the CPU reference`);
  }
}

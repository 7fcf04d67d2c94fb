import { describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import { requestGpuDevice } from '../src/device.ts';
import { GpuDeviceLostError, GpuUnavailableError } from '../src/errors.ts';
import { nodeGpuDevice } from '../src/node-device.ts';
import { TINY, randomModel } from './model.ts';

const fakeGpu = (requestAdapter: () => Promise<GPUAdapter | null>): GPU => ({ requestAdapter }) as unknown as GPU;

describe('no usable WebGPU', () => {
  it('without the API', async () => {
    await expect(requestGpuDevice(undefined)).rejects.toThrow(GpuUnavailableError);
    await expect(requestGpuDevice(undefined)).rejects.toThrow(/no navigator.gpu/);
  });

  it('without an adapter', async () => {
    await expect(requestGpuDevice(fakeGpu(async () => null))).rejects.toThrow(/no WebGPU adapter is available/);
    await expect(requestGpuDevice(fakeGpu(async () => Promise.reject(new Error('driver crashed'))))).rejects.toThrow(/requesting a WebGPU adapter failed: driver crashed/);
  });

  it("for precision 'f16' on SwiftShader (no shader-f16), whose default is f32", async () => {
    const device = await nodeGpuDevice();
    expect(device.features.has('shader-f16')).toBe(false);
    const engine = await BlyanEngine.create(device, TINY);
    expect(engine.precision).toBe('f32');
    engine.destroy();
    await expect(BlyanEngine.create(device, TINY, { precision: 'f16' })).rejects.toThrow(GpuUnavailableError);
    await expect(BlyanEngine.create(device, TINY, { precision: 'f16' })).rejects.toThrow(/needs a device with the 'shader-f16' feature/);
    device.destroy();
  });

  it("for decode 'fused' when its kernels need more workgroup memory than the adapter allows", async () => {
    const device = await nodeGpuDevice();
    const wide = { ...TINY, dFF: device.limits.maxComputeWorkgroupStorageSize / 8 };
    await expect(BlyanEngine.create(device, wide, { decode: 'fused' })).rejects.toThrow(/the fused decode pass needs \d+ bytes of workgroup memory/);
    device.destroy();
  });

  it('with an adapter too small for the model', async () => {
    const device = await nodeGpuDevice();
    const huge = { ...TINY, contextLength: device.limits.maxComputeWorkgroupStorageSize };
    await expect(BlyanEngine.create(device, huge)).rejects.toThrow(GpuUnavailableError);
    device.destroy();
  });
});

describe('a lost device', () => {
  it('fails every later call with GpuDeviceLostError', async () => {
    const device = await nodeGpuDevice();
    const engine = await BlyanEngine.create(device, TINY);
    engine.load(randomModel(TINY, 1).tensors);
    await engine.prefill([1, 2, 3]);
    device.destroy();
    const info = await device.lost;
    expect(info.reason).toBe('destroyed');
    await expect(engine.prefill([1, 2, 3])).rejects.toThrow(GpuDeviceLostError);
    await expect(engine.readLogits()).rejects.toThrow(/device was lost \(destroyed/);
    expect(() => engine.load({})).toThrow(GpuDeviceLostError);
    await expect(engine.generate({ maxTokens: 1 }).next()).rejects.toThrow(GpuDeviceLostError);
  });

  it('while a step is in flight', async () => {
    const device = await nodeGpuDevice();
    const engine = await BlyanEngine.create(device, TINY);
    engine.load(randomModel(TINY, 1).tensors);
    const pending = engine.prefill([1, 2, 3, 4, 5]);
    device.destroy();
    await expect(pending).rejects.toThrow(GpuDeviceLostError);
  });
});

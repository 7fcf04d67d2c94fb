import { describe, expect, it } from 'vitest';
import { calibrationKey, pickEngine, rememberedChoice, softwareAdapter } from '../src/worker/engine-choice.ts';

const info = (over: Partial<Parameters<typeof softwareAdapter>[0]>) => ({ vendor: '', architecture: '', device: '', description: '', ...over });

describe('telling a software WebGPU adapter from a GPU', () => {
  it('names SwiftShader, lavapipe and a flagged fallback adapter, and passes a hardware GPU', () => {
    expect(softwareAdapter(info({ vendor: 'google', architecture: 'swiftshader' }))).toBe('SwiftShader');
    expect(softwareAdapter(info({ vendor: 'mesa', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' }))).toBe('llvmpipe');
    expect(softwareAdapter(info({ vendor: 'unknown', isFallbackAdapter: true }))).toBe('a fallback adapter');
    expect(softwareAdapter(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' }))).toBeNull();
  });
});

describe('picking the engine from the calibration', () => {
  it('picks the fastest that ran and says which, with every figure, and why', () => {
    const choice = pickEngine('SwiftShader', [
      { backend: 'cpu', tokensPerSecond: 143.2 },
      { backend: 'webgpu', tokensPerSecond: 63 },
      { backend: 'wasm', tokensPerSecond: 46.4 },
    ]);
    expect(choice.backend).toBe('cpu');
    expect(choice.notice).toBe(
      'This device’s only WebGPU adapter is SwiftShader, software rather than a GPU. A short test decoded 143 tokens/s on the CPU reference, 63 tokens/s on WebGPU, 46 tokens/s on wasm, so the model runs on the CPU reference, the fastest here. Settings → Engine overrides this.',
    );
  });

  it('leaves out an engine that failed, and says when there is no WebGPU at all', () => {
    const choice = pickEngine(null, [{ backend: 'cpu', tokensPerSecond: 20 }, { backend: 'wasm', tokensPerSecond: 35 }, { backend: 'webgpu', failed: 'no adapter' }]);
    expect(choice.backend).toBe('wasm');
    expect(choice.notice).toMatch(/^This browser has no WebGPU adapter\. A short test decoded 35 tokens\/s on wasm, 20 tokens\/s on the CPU reference, so the model runs on wasm/);
  });

  it('refuses to pick when nothing ran', () => {
    expect(() => pickEngine('SwiftShader', [{ backend: 'cpu', failed: 'out of memory' }])).toThrow(/no engine ran the calibration: cpu: out of memory/);
  });
});

describe('remembering the calibration', () => {
  const swiftshader = info({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true });
  const key = calibrationKey(swiftshader, '/assets/model.worker-abc.js', 'aa'.repeat(32));
  const speeds = [
    { backend: 'cpu', tokensPerSecond: 143.2 },
    { backend: 'webgpu', tokensPerSecond: 63 },
  ] as const;

  it('keys it by adapter, engine version and network', () => {
    expect(calibrationKey({ ...swiftshader, description: 'other' }, '/assets/model.worker-abc.js', 'aa'.repeat(32))).not.toBe(key);
    expect(calibrationKey(swiftshader, '/assets/model.worker-def.js', 'aa'.repeat(32))).not.toBe(key);
    expect(calibrationKey(swiftshader, '/assets/model.worker-abc.js', 'bb'.repeat(32))).not.toBe(key);
    expect(calibrationKey(null, '/assets/model.worker-abc.js', 'aa'.repeat(32))).not.toBe(key);
    expect(calibrationKey({ ...swiftshader }, '/assets/model.worker-abc.js', 'aa'.repeat(32))).toBe(key);
  });

  it('reuses the choice under the same key and says the figures are from an earlier visit', () => {
    const choice = rememberedChoice({ key, adapter: 'SwiftShader', speeds }, key);
    expect(choice?.backend).toBe('cpu');
    expect(choice?.notice).toMatch(/^This device’s only WebGPU adapter is SwiftShader, software rather than a GPU\. A short test on an earlier visit decoded 143 tokens\/s on the CPU reference, 63 tokens\/s on WebGPU, so the model runs on the CPU reference/);
  });

  it('measures again for another key, or when what is kept is malformed', () => {
    expect(rememberedChoice({ key: calibrationKey(null, 'v', 'p'), adapter: null, speeds }, key)).toBeNull();
    expect(rememberedChoice(undefined, key)).toBeNull();
    expect(rememberedChoice({ key, adapter: 'SwiftShader', speeds: [{ backend: 'gpu9000', tokensPerSecond: 1e9 }] }, key)).toBeNull();
    expect(rememberedChoice({ key, adapter: 'SwiftShader', speeds: [{ backend: 'cpu', failed: 'oom' }] }, key)).toBeNull();
    expect(rememberedChoice({ key, adapter: 7, speeds }, key)).toBeNull();
  });
});

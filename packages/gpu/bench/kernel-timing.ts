/**
 * Times WGSL compute kernels on one WebGPU device, in this machine's headless Chromium (WebGPU on
 * SwiftShader) or in Node on lavapipe: the harness of `pnpm bench:matmul` and `pnpm bench:ceiling`.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { type Page, chromium } from '@playwright/test';
import { CHROMIUM } from '../../../apps/web/e2e/chromium.ts';
import { nodeGpuDevice } from '../src/node-device.ts';

export interface Kernel {
  readonly name: string;
  readonly grid: readonly [number, number, number];
  /** WGSL with entry point `main`: bindings 0 … n−1 the read-only inputs, binding n the f32 output. */
  readonly code: string;
}

export interface Suite {
  readonly kernels: readonly Kernel[];
  /** Each input buffer's 32-bit words (float data through `f32Words`). */
  readonly inputs: readonly (readonly number[])[];
  /** f32 elements of the output buffer. */
  readonly outputs: number;
  /** Timed as the fastest of `trials` submissions of `repeats` dispatches each. */
  readonly trials: number;
  readonly repeats: number;
}

export interface Timed {
  /** Milliseconds per dispatch. */
  readonly ms: number;
  /** The output buffer after one dispatch. */
  readonly y: readonly number[];
}

/** The 32-bit words of float data, for a Suite input. */
export const f32Words = (values: ArrayLike<number>): number[] => Array.from(new Int32Array(Float32Array.from(values).buffer));

/**
 * Runs in the page (or in Node with navigator.gpu's stand-in), so it refers to nothing outside
 * itself: each kernel once for its output, then timed. Leaves the device open (Node's is shared).
 */
export async function timeSuite(suite: Suite): Promise<Timed[]> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice({ requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize } });
  const buffer = (data: Int32Array<ArrayBuffer> | null, size: number, usage: number) => {
    const b = device.createBuffer({ size, usage });
    if (data) device.queue.writeBuffer(b, 0, data);
    return b;
  };
  const inputs = suite.inputs.map((words) => buffer(new Int32Array(words), words.length * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
  const output = buffer(null, suite.outputs * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const out: Timed[] = [];
  for (const k of suite.kernels) {
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: k.code }), entryPoint: 'main' } });
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [...inputs, output].map((b, binding) => ({ binding, resource: { buffer: b } })) });
    const run = async (times: number) => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      for (let i = 0; i < times; i++) pass.dispatchWorkgroups(...k.grid);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    await run(1);
    const staging = buffer(null, suite.outputs * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(output, 0, staging, 0, suite.outputs * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const y = Array.from(new Float32Array(staging.getMappedRange()));
    staging.unmap();
    staging.destroy();
    let ms = Infinity;
    for (let trial = 0; trial < suite.trials; trial++) {
      const start = performance.now();
      await run(suite.repeats);
      ms = Math.min(ms, (performance.now() - start) / suite.repeats);
    }
    out.push({ ms, y });
  }
  for (const b of [...inputs, output]) b.destroy();
  return out;
}

const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/**
 * Runs `use` in this machine's headless Chromium (WebGPU on); `open` gives a fresh blank page of a
 * loopback origin that is cross-origin isolated (so wasm may use threads) and serves `files`: URL
 * prefixes (e.g. '/ort/') mapped to directories.
 */
export async function withChromium<T>(use: (open: () => Promise<Page>) => Promise<T>, files: Readonly<Record<string, string>> = {}): Promise<T> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const prefix = Object.keys(files).find((p) => path.startsWith(p));
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (!prefix) return res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end('<!doctype html>');
    try {
      const body = await readFile(join(files[prefix]!, path.slice(prefix.length)));
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const browser = await chromium.launch({ ...CHROMIUM, headless: true });
  try {
    const open = async () => {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.evaluate('window.__name = (f) => f');
      return page;
    };
    return await use(open);
  } finally {
    await browser.close();
    server.close();
  }
}

/** The suites timed in Chromium on SwiftShader, in order. */
export const inChromium = (suites: readonly Suite[]): Promise<Timed[][]> =>
  withChromium(async (open) => {
    const page = await open();
    const timed: Timed[][] = [];
    for (const suite of suites) timed.push(await page.evaluate(timeSuite, suite));
    return timed;
  });

/** The suites timed in Node on lavapipe, in order. */
export async function onLavapipe(suites: readonly Suite[]): Promise<Timed[][]> {
  const device = await nodeGpuDevice('lavapipe');
  const gpu = { requestAdapter: async () => ({ limits: device.limits, requestDevice: async () => device }) };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const timed: Timed[][] = [];
  for (const suite of suites) timed.push(await timeSuite(suite));
  return timed;
}

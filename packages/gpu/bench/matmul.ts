/**
 * Shapes of an int8 matrix product on CPU-backed WebGPU adapters: `pnpm bench:matmul [rows]`.
 * y [rows, 512] = x [rows, 128] · Wᵀ with W [512, 128] in int8 (one expert's up projection, four
 * weights per u32), as register blocks (each thread rows × columns of y in registers, loading x and
 * W straight from storage) and as workgroup-memory tiles (x and W tiles staged in var<workgroup>,
 * K in chunks between barriers), each with the int8 widened by `extractBits` or by two constant
 * shifts. Runs every variant in this machine's headless Chromium (WebGPU on SwiftShader) and in
 * Node on lavapipe, checks each output against a CPU product and prints milliseconds per dispatch
 * (the fastest of 6 × 3 dispatches) next to the baseline: the 4 × 4 register block with
 * `extractBits`, the prompt kernels' shape before they were cut per adapter.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from '@playwright/test';
import { Rng } from '@blyan/model';
import { CHROMIUM } from '../../../apps/web/e2e/chromium.ts';
import { nodeGpuDevice } from '../src/node-device.ts';

const M = Number(process.argv[2] ?? 96);
const N = 512;
const K = 128;
if (!Number.isSafeInteger(M) || M < 1) throw new Error('usage: pnpm bench:matmul [rows]');

type Unpack = 'extractBits' | 'shift';
interface Variant {
  readonly name: string;
  readonly grid: readonly [number, number, number];
  readonly code: string;
}

const lines = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join('\n');

const UNPACK: Record<Unpack, string> = {
  extractBits: 'let s = bitcast<i32>(w); return vec4<f32>(f32(extractBits(s, 0u, 8u)), f32(extractBits(s, 8u, 8u)), f32(extractBits(s, 16u, 8u)), f32(extractBits(s, 24u, 8u)));',
  shift: 'return vec4<f32>((vec4<i32>(bitcast<i32>(w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));',
};

const header = (unpack: Unpack): string => `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn unpack_i8(w: u32) -> vec4<f32> { ${UNPACK[unpack]} }`;

/** Each thread: tm rows × tn columns of y (tn a multiple of 4), 64 threads per workgroup. */
function registerBlock(tm: number, tn: number, unpack: Unpack): Variant {
  const acc = (r: number, c: number) => `acc${r}_${c}`;
  return {
    name: `register block ${tm} × ${tn}, ${unpack}`,
    grid: [Math.ceil(N / tn / 64), Math.ceil(M / tm), 1],
    code: `${header(unpack)}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o0 = gid.x * ${tn}u;
  let m0 = gid.y * ${tm}u;
  if (o0 >= ${N}u || m0 >= ${M}u) { return; }
  ${lines(tm, (r) => `let row${r} = min(m0 + ${r}u, ${M - 1}u); ${lines(tn / 4, (c) => `var ${acc(r, c)} = vec4<f32>(0.0);`)}`)}
  for (var k = 0u; k < ${K}u; k += 4u) {
    ${lines(tn, (j) => `let w${j} = unpack_i8(w[((o0 + ${j}u) * ${K}u + k) >> 2u]);`)}
    ${lines(tm, (r) => `{ let xv = x[(row${r} * ${K}u + k) >> 2u]; ${lines(tn / 4, (c) => `${acc(r, c)} += vec4<f32>(${[0, 1, 2, 3].map((j) => `dot(xv, w${4 * c + j})`).join(', ')});`)} }`)}
  }
  ${lines(tm, (r) => `if (m0 + ${r}u < ${M}u) { ${lines(tn, (j) => `y[(m0 + ${r}u) * ${N}u + o0 + ${j}u] = ${acc(r, j >> 2)}[${j & 3}];`)} }`)}
}`,
  };
}

/** A bm × bn tile of y per workgroup, K in chunks of bk staged in workgroup memory (vec4s along K); each thread tm × tn of it. */
function workgroupTile(bm: number, bn: number, bk: number, tm: number, tn: number, unpack: Unpack): Variant {
  const threads = (bm / tm) * (bn / tn);
  const across = bn / tn;
  const kq = bk / 4;
  return {
    name: `workgroup tile ${bm} × ${bn}, K chunks of ${bk}, ${tm} × ${tn} per thread, ${unpack}`,
    grid: [N / bn, Math.ceil(M / bm), 1],
    code: `${header(unpack)}
var<workgroup> xs: array<vec4<f32>, ${bm * kq}>;
var<workgroup> ws: array<vec4<f32>, ${bn * kq}>;
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * ${bn}u;
  let m0 = wid.y * ${bm}u;
  let tr = lid / ${across}u;
  let tc = lid % ${across}u;
  ${lines(tm, (r) => lines(tn / 4, (c) => `var acc${r}_${c} = vec4<f32>(0.0);`))}
  for (var k0 = 0u; k0 < ${K / 4}u; k0 += ${kq}u) {
    for (var i = lid; i < ${bm * kq}u; i += ${threads}u) { xs[i] = x[min(m0 + i / ${kq}u, ${M - 1}u) * ${K / 4}u + k0 + i % ${kq}u]; }
    for (var i = lid; i < ${bn * kq}u; i += ${threads}u) { ws[i] = unpack_i8(w[(n0 + i / ${kq}u) * ${K / 4}u + k0 + i % ${kq}u]); }
    workgroupBarrier();
    for (var q = 0u; q < ${kq}u; q++) {
      ${lines(tn, (j) => `let w${j} = ws[(tc + ${j * across}u) * ${kq}u + q];`)}
      ${lines(tm, (r) => `{ let xv = xs[(tr * ${tm}u + ${r}u) * ${kq}u + q]; ${lines(tn / 4, (c) => `acc${r}_${c} += vec4<f32>(${[0, 1, 2, 3].map((j) => `dot(xv, w${4 * c + j})`).join(', ')});`)} }`)}
    }
    workgroupBarrier();
  }
  ${lines(tm, (r) => `{ let m = m0 + tr * ${tm}u + ${r}u; if (m < ${M}u) { ${lines(tn, (j) => `y[m * ${N}u + n0 + tc + ${j * across}u] = acc${r}_${j >> 2}[${j & 3}];`)} } }`)}
}`,
  };
}

const VARIANTS: readonly Variant[] = [
  registerBlock(4, 4, 'extractBits'),
  registerBlock(4, 4, 'shift'),
  registerBlock(8, 4, 'shift'),
  registerBlock(16, 4, 'shift'),
  registerBlock(8, 8, 'shift'),
  registerBlock(4, 16, 'shift'),
  workgroupTile(32, 64, 32, 4, 8, 'shift'),
  workgroupTile(64, 64, 32, 8, 8, 'shift'),
  workgroupTile(64, 64, 64, 8, 8, 'shift'),
];

const rng = new Rng(3);
const x = Array.from({ length: M * K }, () => rng.next() - 0.5);
const w = Array.from({ length: (N * K) / 4 }, () => rng.nextUint32() | 0);
const expected = new Float32Array(M * N);
for (let m = 0; m < M; m++) {
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += x[m * K + k]! * ((w[(n * K + k) >> 2]! << (24 - 8 * (k & 3))) >> 24);
    expected[m * N + n] = sum;
  }
}

interface Timed {
  readonly ms: number;
  readonly y: number[];
}

/** Runs in the page (or in Node with navigator.gpu's stand-in): each variant once for its output, then timed. */
async function timeAll(input: { variants: readonly Variant[]; x: number[]; w: number[]; outputs: number }): Promise<Timed[]> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice({ requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize } });
  const buffer = (data: ArrayBufferView<ArrayBuffer> | null, size: number, usage: number) => {
    const b = device.createBuffer({ size, usage });
    if (data) device.queue.writeBuffer(b, 0, data);
    return b;
  };
  const xs = new Float32Array(input.x);
  const ws = new Int32Array(input.w);
  const bx = buffer(xs, xs.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const bw = buffer(ws, ws.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const by = buffer(null, input.outputs * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const out: Timed[] = [];
  for (const v of input.variants) {
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: v.code }), entryPoint: 'main' } });
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [bx, bw, by].map((b, binding) => ({ binding, resource: { buffer: b } })) });
    const run = async (times: number) => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      for (let i = 0; i < times; i++) pass.dispatchWorkgroups(...v.grid);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    await run(1);
    const staging = buffer(null, input.outputs * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(by, 0, staging, 0, input.outputs * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const y = Array.from(new Float32Array(staging.getMappedRange()));
    staging.unmap();
    let ms = Infinity;
    for (let trial = 0; trial < 6; trial++) {
      const start = performance.now();
      await run(3);
      ms = Math.min(ms, (performance.now() - start) / 3);
    }
    out.push({ ms, y });
  }
  device.destroy();
  return out;
}

const input = { variants: VARIANTS, x, w, outputs: M * N };

async function inChromium(): Promise<Timed[]> {
  const server = createServer((_, res) => res.end('<!doctype html>')).listen(0);
  const browser = await chromium.launch({ ...CHROMIUM, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${(server.address() as AddressInfo).port}/`);
    await page.evaluate('window.__name = (f) => f');
    return await page.evaluate(timeAll, input);
  } finally {
    await browser.close();
    server.close();
  }
}

async function onLavapipe(): Promise<Timed[]> {
  const device = await nodeGpuDevice('lavapipe');
  const gpu = { requestAdapter: async () => ({ limits: device.limits, requestDevice: async () => device }) };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  return timeAll(input);
}

const columns = [
  { label: 'Chromium SwiftShader', timed: await inChromium() },
  { label: 'lavapipe (Node)', timed: await onLavapipe() },
];
for (const { label, timed } of columns) {
  for (const [i, t] of timed.entries()) {
    const error = t.y.reduce((worst, v, j) => Math.max(worst, Math.abs(v - expected[j]!)), 0);
    if (!(error < 1e-3)) throw new Error(`${label}, ${VARIANTS[i]!.name}: max error ${error} against the CPU product`);
  }
}
console.log(`y [${M}, ${N}] = x [${M}, ${K}] · Wᵀ, W int8 [${N}, ${K}]; ms per dispatch (fastest of 6 × 3), × = the baseline's time ÷ the variant's; every output equal to the CPU product within 1e-3\n`);
console.log(`| kernel | ${columns.map((c) => c.label).join(' | ')} |`);
console.log(`| --- | ${columns.map(() => '---').join(' | ')} |`);
for (const [i, v] of VARIANTS.entries()) {
  const cells = columns.map(({ timed }) => `${timed[i]!.ms.toFixed(2)} ms${i === 0 ? ' (baseline)' : ` (${(timed[0]!.ms / timed[i]!.ms).toFixed(2)}×)`}`);
  console.log(`| ${v.name} | ${cells.join(' | ')} |`);
}
process.exit(0);

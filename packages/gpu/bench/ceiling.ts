/**
 * What any WGSL kernel could reach on this machine's software adapters, against onnxruntime-web
 * wasm: `pnpm bench:ceiling [rows]`. In one headless Chromium (WebGPU on SwiftShader) and in Node on
 * lavapipe:
 * - ALU ceiling: every invocation runs independent multiply-adds on registers (no memory traffic
 *   in the loop): vec4 a · m + c across workgroup sizes and accumulator counts, the product
 *   kernels' dot form, and the packed int8 dot product: G multiply-adds/s;
 * - load ceiling: loads per lane from storage, uniform or workgroup memory (addresses sequential
 *   across lanes, scattered, or equal across lanes; f32, vec4<f32>, u32) summed into independent
 *   accumulators: G loads/s;
 * - the int8 prompt-kernel shapes of `pnpm bench:matmul` on y [rows, 512] = x [rows, 128] · Wᵀ
 *   (rows 96 unless given; each output checked against the CPU product): G multiply-adds/s;
 * - in the same Chromium, onnxruntime-web 1.30 wasm on a plain f32 MatMul x [M, 128] · B [128, 512]
 *   (B a graph input, as in the routed graph), 1 and 2 threads, outputs checked: the reference.
 * Then the genesis v2 prefill's multiply-adds and minimal loads at 16 / 48 / 128 / 256 tokens and
 * the time the ceilings allow for them on SwiftShader.
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@blyan/model';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { GraphBuilder } from '@blyan/model/onnx/graphs';
import { type Kernel, type Suite, type Timed, f32Words, onLavapipe, timeSuite, withChromium } from './kernel-timing.ts';
import { type Shape, checkAgainst, cpuProduct, registerBlock } from './matmul-kernels.ts';
import { prefillWork } from './prefill-work.ts';

const INVOCATIONS = 4096;
/** Each kernel timed as the fastest of 16 single dispatches: on a shared machine the fastest is the one least disturbed. */
const TIMING = { trials: 16, repeats: 1 } as const;

/** A round of the ALU kernel on one vec4 accumulator: the values it reads from p, and its multiply-adds. */
interface Round {
  readonly lets: string;
  readonly macs: number;
  readonly statement: (a: string) => string;
  readonly label: string;
}

const ROUNDS = {
  /** a ← a · m + c: 4 multiply-adds. */
  fma: { lets: 'let m = p[0]; let c = p[1];', macs: 4, statement: (a) => `${a} = ${a} * m + c;`, label: '' },
  /** a ← (dot(a, m), dot(a, m.yzwx), dot(a, m.zwxy), dot(a, m.wxyz)): a 4 × 4 matrix-vector product, 16 multiply-adds in the product kernels' dot form. */
  dot: { lets: 'let m = p[0] * 0.25;', macs: 16, statement: (a) => `${a} = vec4<f32>(dot(${a}, m), dot(${a}, m.yzwx), dot(${a}, m.zwxy), dot(${a}, m.wxyz));`, label: ', 4 dot() a round' },
} satisfies Record<string, Round>;

/** Each invocation: `iters` × `unroll` rounds on `acc` vec4 accumulators. */
function aluKernel(workgroup: number, acc: number, macsPerInvocation: number, round: Round = ROUNDS.fma): Kernel & { macs: number } {
  const unroll = 4;
  const iters = macsPerInvocation / (acc * unroll * round.macs);
  const accs = Array.from({ length: acc }, (_, i) => `a${i}`);
  return {
    name: `workgroup ${workgroup}, ${acc} vec4 accumulator${acc > 1 ? 's' : ''}${round.label}`,
    grid: [INVOCATIONS / workgroup, 1, 1],
    macs: INVOCATIONS * macsPerInvocation,
    code: `@group(0) @binding(0) var<storage, read> p: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(${workgroup}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${round.lets}
  let s = vec4<f32>(f32(gid.x) * 1e-4) + p[2];
  ${accs.map((a, i) => `var ${a} = s + vec4<f32>(${i * 0.01});`).join('\n  ')}
  for (var i = 0u; i < ${iters}u; i++) {
    ${Array.from({ length: unroll }, () => accs.map(round.statement).join(' ')).join('\n    ')}
  }
  y[gid.x] = dot(${accs.join(' + ')}, vec4<f32>(1.0));
}`,
  };
}

/**
 * The integer path: each invocation chains a ← dot4I8Packed(a, v) (four int8 multiply-adds a call,
 * WGSL's packed 4 × 8-bit dot product) on `acc` u32 accumulators.
 */
function dot4I8Kernel(acc: number, macsPerInvocation: number): Kernel & { macs: number } {
  const unroll = 4;
  const iters = macsPerInvocation / (acc * unroll * 4);
  const accs = Array.from({ length: acc }, (_, i) => `a${i}`);
  return {
    name: `workgroup 64, ${acc} u32 accumulators, dot4I8Packed`,
    grid: [INVOCATIONS / 64, 1, 1],
    macs: INVOCATIONS * macsPerInvocation,
    code: `@group(0) @binding(0) var<storage, read> p: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v = bitcast<u32>(p[0].x);
  ${accs.map((a, i) => `var ${a} = gid.x * ${2 * i + 3}u;`).join('\n  ')}
  for (var i = 0u; i < ${iters}u; i++) {
    ${Array.from({ length: unroll }, () => accs.map((a) => `${a} = bitcast<u32>(dot4I8Packed(${a}, v));`).join(' ')).join('\n    ')}
  }
  y[gid.x] = f32(${accs.join(' ^ ')});
}`,
  };
}

type Element = 'f32' | 'vec4<f32>' | 'u32';
type Pattern = 'sequential across lanes' | 'scattered across lanes' | 'equal across lanes';
type Space = 'storage' | 'uniform' | 'workgroup';
/** The source's 32-bit words: 64 KiB, the most a uniform binding may hold. */
const WORDS = 16384;
/** What a workgroup may hold (16 KiB, WebGPU's default limit). */
const WORKGROUP_WORDS = 4096;

/**
 * Each invocation: `loads` loads into 8 independent accumulators from a storage or uniform buffer,
 * or from workgroup memory that the workgroup first copies from storage (one barrier).
 */
function loadKernel(space: Space, element: Element, pattern: Pattern, loads: number): Kernel & { loads: number; bytes: number } {
  const unroll = 8;
  const width = element === 'vec4<f32>' ? 4 : 1;
  const words = space === 'workgroup' ? WORKGROUP_WORDS : WORDS;
  const mask = words / width - 1;
  const base = { 'sequential across lanes': 'gid.x', 'scattered across lanes': 'gid.x * 129u', 'equal across lanes': 'wid.x' }[pattern];
  const zero = element === 'u32' ? '0u' : element === 'f32' ? '0.0' : 'vec4<f32>(0.0)';
  const accs = Array.from({ length: unroll }, (_, j) => `a${j}`);
  const sum = element === 'vec4<f32>' ? `dot(${accs.join(' + ')}, vec4<f32>(1.0))` : `f32(${accs.join(' + ')})`;
  const declaration = {
    storage: `@group(0) @binding(0) var<storage, read> src: array<${element}>;`,
    uniform: `@group(0) @binding(0) var<uniform> src: array<${element}, ${words / width}>;`,
    workgroup: `@group(0) @binding(0) var<storage, read> global: array<${element}>;\nvar<workgroup> src: array<${element}, ${words / width}>;`,
  }[space];
  const fill = space === 'workgroup' ? `for (var i = lid; i < ${words / width}u; i += 64u) { src[i] = global[i]; }\n  workgroupBarrier();` : '';
  return {
    name: `${space}, ${element}, ${pattern}`,
    grid: [INVOCATIONS / 64, 1, 1],
    loads: INVOCATIONS * loads,
    bytes: INVOCATIONS * loads * 4 * width,
    code: `${declaration}
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${fill}
  let base = ${base};
  ${accs.map((a) => `var ${a} = ${zero};`).join(' ')}
  for (var i = 0u; i < ${loads / unroll}u; i++) {
    let k = base + i * ${unroll * 64}u;
    ${accs.map((a, j) => `${a} += src[(k + ${j * 64}u) & ${mask}u];`).join('\n    ')}
  }
  y[gid.x] = ${sum};
}`,
  };
}

const ALU = [...[1, 4, 16, 64].map((wg) => aluKernel(wg, 8, 32768)), ...[1, 2, 4, 16].map((acc) => aluKernel(64, acc, 32768)), aluKernel(64, 8, 32768, ROUNDS.dot), dot4I8Kernel(8, 32768)];
const ELEMENTS: readonly Element[] = ['f32', 'vec4<f32>', 'u32'];
const PATTERNS: readonly Pattern[] = ['sequential across lanes', 'scattered across lanes', 'equal across lanes'];
const LOADS = [
  ...ELEMENTS.flatMap((e) => PATTERNS.map((p) => loadKernel('storage', e, p, 4096))),
  loadKernel('uniform', 'vec4<f32>', 'sequential across lanes', 4096),
  loadKernel('uniform', 'vec4<f32>', 'equal across lanes', 4096),
  loadKernel('workgroup', 'f32', 'sequential across lanes', 4096),
  loadKernel('workgroup', 'f32', 'equal across lanes', 4096),
  loadKernel('workgroup', 'vec4<f32>', 'equal across lanes', 4096),
];

const shape: Shape = { M: Number(process.argv[2] ?? 96), N: 512, K: 128 };
if (!Number.isSafeInteger(shape.M) || shape.M < 1) throw new Error('usage: pnpm bench:ceiling [rows]');
const MATMULS = [
  registerBlock(shape, 4, 4, 'extractBits'),
  registerBlock(shape, 8, 4, 'shift'),
  registerBlock(shape, 8, 8, 'shift'),
  registerBlock(shape, 8, 4, 'shift', 16),
  registerBlock(shape, 8, 16, 'shift', 16),
  registerBlock(shape, 16, 8, 'shift', 16),
  registerBlock(shape, 16, 16, 'shift', 16),
  registerBlock(shape, 4, 32, 'shift', 16),
];
const rng = new Rng(5);
const x = Array.from({ length: shape.M * shape.K }, () => rng.next() - 0.5);
const w = Array.from({ length: (shape.N * shape.K) / 4 }, () => rng.nextUint32() | 0);
const expected = cpuProduct(shape, x, w);

/** The prompt pass's dispatches (13 · L + 3 for genesis v2's 4 layers), timed as empty ones in one submission. */
const PASS_DISPATCHES = 55;
const EMPTY: Kernel = {
  name: 'empty dispatch',
  grid: [1, 1, 1],
  code: `@group(0) @binding(0) var<storage, read> p: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) { y[gid.x] = p[0].x; }`,
};
const params = f32Words([0.999, 0.999, 0.999, 0.999, 0.001, 0.001, 0.001, 0.001, 0.5, 0.25, 0.125, 0.0625]);

const suites: readonly Suite[] = [
  { kernels: ALU, inputs: [params], outputs: INVOCATIONS, ...TIMING },
  { kernels: LOADS, inputs: [f32Words(Array.from({ length: WORDS }, () => rng.next()))], outputs: INVOCATIONS, ...TIMING },
  // A submission of fewer rows holds more dispatches, at least the 96-row product's work: a lone small dispatch times the submission's latency.
  { kernels: MATMULS, inputs: [f32Words(x), w], outputs: shape.M * shape.N, trials: 24, repeats: Math.ceil(96 / shape.M) },
  { kernels: [EMPTY], inputs: [params], outputs: 64, trials: 8, repeats: PASS_DISPATCHES },
];

/** onnxruntime-web's MatMul x [M, K] · B [K, N], both graph inputs. */
function matmulModel(M: number, { K, N }: Shape): number[] {
  const g = new GraphBuilder('matmul');
  const xv = g.input('x', 'float32', [M, K]);
  const b = g.input('b', 'float32', [K, N]);
  g.output(g.node1('MatMul', [xv, b]), 'y', 'float32', [M, N]);
  return Array.from(g.toBytes());
}

interface OrtProduct {
  readonly M: number;
  readonly model: number[];
  readonly x: number[];
}

/** Runs in the page: onnxruntime-web's wasm bundle (served at /ort/) with `threads` threads, each product timed (fastest of trials × repeats runs). */
async function timeOrt(input: { threads: number; K: number; N: number; b: number[]; products: OrtProduct[]; trials: number; repeats: number }): Promise<Timed[]> {
  const url = '/ort/ort.wasm.min.mjs';
  const ort = (await import(url)) as typeof import('onnxruntime-web');
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = input.threads;
  const b = new ort.Tensor('float32', Float32Array.from(input.b), [input.K, input.N]);
  const out: Timed[] = [];
  for (const p of input.products) {
    const session = await ort.InferenceSession.create(Uint8Array.from(p.model), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const run = async () => (await session.run({ x: new ort.Tensor('float32', Float32Array.from(p.x), [p.M, input.K]), b })).y!.data as Float32Array;
    const y = Array.from(await run());
    let ms = Infinity;
    for (let trial = 0; trial < input.trials; trial++) {
      const start = performance.now();
      for (let r = 0; r < input.repeats; r++) await run();
      ms = Math.min(ms, (performance.now() - start) / input.repeats);
    }
    await session.release();
    out.push({ ms, y });
  }
  return out;
}

const ORT_ROWS = [96, 256, 1024];
const ortProducts = ORT_ROWS.map((M) => {
  const xs = Array.from({ length: M * shape.K }, () => rng.next() - 0.5);
  return { M, model: matmulModel(M, shape), x: xs, expected: cpuProduct({ ...shape, M }, xs, w) };
});
/** B [K, N] = Wᵀ as floats: the same int8 weights as the WGSL products. */
const bT = Array.from({ length: shape.K * shape.N }, (_, i) => {
  const k = Math.floor(i / shape.N);
  const n = i % shape.N;
  return (w[(n * shape.K + k) >> 2]! << (24 - 8 * (k & 3))) >> 24;
});
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const THREADS = [1, 2];

const loadBefore = loadavg()[0]!;
const { chromiumTimed, ortTimed, isolated } = await withChromium(
  async (open) => {
    // onnxruntime-web first, each thread count in its own page (its threads are set once per page), before SwiftShader starts its threads.
    const ortTimed: Timed[][] = [];
    let isolated = false;
    for (const threads of THREADS) {
      const page = await open();
      isolated = await page.evaluate(() => globalThis.crossOriginIsolated);
      ortTimed.push(await page.evaluate(timeOrt, { threads, K: shape.K, N: shape.N, b: bT, products: ortProducts.map(({ M, model, x }) => ({ M, model, x })), trials: 60, repeats: 1 }));
      await page.close();
    }
    const page = await open();
    const chromiumTimed: Timed[][] = [];
    for (const suite of suites) chromiumTimed.push(await page.evaluate(timeSuite, suite));
    return { chromiumTimed, ortTimed, isolated };
  },
  { '/ort/': ortDist },
);
const lavapipeTimed = await onLavapipe(suites);

for (const [label, timed] of [['Chromium SwiftShader', chromiumTimed[2]!], ['lavapipe', lavapipeTimed[2]!]] as const) {
  for (const [i, t] of timed.entries()) checkAgainst(expected, t.y, `${label}, ${MATMULS[i]!.name}`);
}
for (const [ti, timed] of ortTimed.entries()) for (const [i, t] of timed.entries()) checkAgainst(ortProducts[i]!.expected, t.y, `onnxruntime-web wasm, ${THREADS[ti]} thread(s), ${ORT_ROWS[i]} rows`);

const loadAfter = loadavg()[0]!;
const rate = (count: number, ms: number) => count / ms / 1e6;
const f = (v: number, digits = 2) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const columns = [
  { label: 'Chromium SwiftShader', timed: chromiumTimed },
  { label: 'lavapipe (Node)', timed: lavapipeTimed },
];
const table = (head: string, rows: readonly string[][]) => {
  console.log(`| ${head} | ${columns.map((c) => c.label).join(' | ')} |`);
  console.log(`| --- | ${columns.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log();
};

console.log(`Load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end of the timings\n`);
console.log(`ALU ceiling: ${INVOCATIONS} invocations, each 32,768 multiply-adds (a ← a · m + c on vec4 registers, a ← four dot(a, mᵢ), or a ← dot4I8Packed(a, v)); ms per dispatch (fastest of ${TIMING.trials}) and G multiply-adds/s\n`);
table(
  'kernel',
  ALU.map((k, i) => [k.name, ...columns.map(({ timed }) => `${f(timed[0]![i]!.ms)} ms, **${f(rate(k.macs, timed[0]![i]!.ms))}** G/s`)]),
);
console.log(`Load ceiling: ${INVOCATIONS} invocations in workgroups of 64, each 4,096 loads into 8 accumulators from a 64 KiB storage or uniform buffer, or from 16 KiB of workgroup memory copied from storage first; G loads/s (GB/s)\n`);
table(
  'loads',
  LOADS.map((k, i) => [k.name, ...columns.map(({ timed }) => `**${f(rate(k.loads, timed[1]![i]!.ms))}** G/s (${f(rate(k.bytes, timed[1]![i]!.ms), 1)} GB/s)`)]),
);
const productMacs = shape.M * shape.N * shape.K;
console.log(`Int8 products y [${shape.M}, ${shape.N}] = x [${shape.M}, ${shape.K}] · Wᵀ (${f(productMacs / 1e6)} M multiply-adds), outputs equal to the CPU product within 1e-3; ms per dispatch (fastest of 24 submissions of ${Math.ceil(96 / shape.M)}) and G multiply-adds/s\n`);
table(
  'kernel',
  MATMULS.map((k, i) => [k.name, ...columns.map(({ timed }) => `${f(timed[2]![i]!.ms)} ms, **${f(rate(productMacs, timed[2]![i]!.ms))}** G/s`)]),
);
console.log(`onnxruntime-web 1.30 wasm in the same Chromium (crossOriginIsolated: ${isolated}), MatMul x [M, ${shape.K}] · B [${shape.K}, ${shape.N}] f32, B a graph input; ms per run (fastest of 60 runs, inputs copied in each run) and G multiply-adds/s; outputs equal to the CPU product within 1e-3\n`);
console.log(`| rows M | ${THREADS.map((t) => `${t} thread${t > 1 ? 's' : ''}`).join(' | ')} |`);
console.log(`| --- | ${THREADS.map(() => '---').join(' | ')} |`);
for (const [i, M] of ORT_ROWS.entries()) {
  console.log(`| ${M} | ${ortTimed.map((timed) => `${f(timed[i]!.ms, 3)} ms, **${f(rate(M * shape.N * shape.K, timed[i]!.ms))}** G/s`).join(' | ')} |`);
}
console.log();

console.log(`${PASS_DISPATCHES} empty dispatches in one submission: ${columns.map(({ label, timed }) => `${label} ${f(timed[3]![0]!.ms, 3)} ms per dispatch`).join(', ')}\n`);

/** The highest rate of a suite's kernels in Chromium, of those `keep` admits. */
const best = <K extends Kernel>(kernels: readonly K[], suite: number, count: (k: K) => number, keep: (k: K) => boolean = () => true) =>
  Math.max(...kernels.map((k, i) => (keep(k) ? rate(count(k), chromiumTimed[suite]![i]!.ms) : 0)));
const bestAlu = best(ALU, 0, (k) => k.macs, (k) => !k.name.includes('dot4I8Packed'));
const bestLoad = best(LOADS, 1, (k) => k.bytes);
const bestU32 = best(LOADS, 1, (k) => k.loads, (k) => k.name.startsWith('storage, u32'));
const bestVec4 = best(LOADS, 1, (k) => k.loads, (k) => k.name.startsWith('storage, vec4'));
const bestMatmul = best(MATMULS, 2, () => productMacs);
const bestOrt = Math.max(...ortTimed[0]!.map((t, i) => rate(ORT_ROWS[i]! * shape.N * shape.K, t.ms)));
const dispatchMs = PASS_DISPATCHES * chromiumTimed[3]![0]!.ms;
/** A register block of R rows × C columns per thread: per 4 steps of K, C u32 weight loads and R vec4 loads of x for 4·R·C multiply-adds, at the best load rates, after the ALU's time. */
const blockRate = (R: number, C: number) => 1 / (1 / bestAlu + (C / bestU32 + R / bestVec4) / (4 * R * C));
const cfg = readCheckpoint(fileURLToPath(new URL('../../../public/genesis-v2/checkpoint.tensors', import.meta.url))).config;
console.log(
  `Genesis v2 prefill on Chromium SwiftShader, from the ceilings above: ALU bound = multiply-adds ÷ ${f(bestAlu)} G/s (the best f32 ALU row); load bound = minimal bytes ÷ ${f(bestLoad, 1)} GB/s (the best load row); ` +
    `dispatches = ${PASS_DISPATCHES} × the empty dispatch (${f(dispatchMs, 1)} ms); a 16 × 16 register block at the best load rates (${f(bestU32)} G u32, ${f(bestVec4)} G vec4 loads/s) runs ${f(blockRate(16, 16))} G multiply-adds/s; ` +
    `the best int8 product row ${f(bestMatmul)} G/s; wasm at its best 1-thread MatMul rate, ${f(bestOrt)} G/s, on the routed graph's multiply-adds (its logits for every token)\n`,
);
console.log(`(genesis v2: d ${cfg.dModel}, ${cfg.nLayers} layers, ${cfg.nHeads} heads, top-${cfg.topK} of ${cfg.nExperts} experts of width ${cfg.dFF} SwiGLU, vocabulary ${cfg.vocabSize}; 6 experts per layer in use, the default budget)\n`);
console.log('| tokens | engine multiply-adds (last token\'s logits) | minimal bytes | ALU bound | load bound | lower bound: the larger + dispatches | 16 × 16 block model + dispatches | best int8 product row + dispatches | routed graph multiply-adds | wasm at its 1-thread MatMul rate |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const T of [16, 48, 128, 256]) {
  const work = prefillWork(cfg, T, 6);
  const ms = (count: number, perMs: number) => count / perMs / 1e6;
  const cell = (v: number) => `${f(v, 1)} ms`;
  const [alu, load] = [ms(work.macs, bestAlu), ms(work.bytes, bestLoad)];
  console.log(
    `| ${T} | ${f(work.macs / 1e6, 1)} M | ${f(work.bytes / 1e6, 2)} MB | ${cell(alu)} | ${cell(load)} | **${cell(Math.max(alu, load) + dispatchMs)}** | ${cell(ms(work.macs, blockRate(16, 16)) + dispatchMs)} | ${cell(ms(work.macs, bestMatmul) + dispatchMs)} | ${f(work.routedGraphMacs / 1e6, 1)} M | **${cell(ms(work.routedGraphMacs, bestOrt))}** |`,
  );
}
process.exit(0);

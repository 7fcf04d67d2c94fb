/**
 * Shapes of an int8 matrix product on CPU-backed WebGPU adapters: `pnpm bench:matmul [rows]`.
 * y [rows, 512] = x [rows, 128] · Wᵀ with W [512, 128] in int8 (one expert's up projection, four
 * weights per u32), as register blocks and as workgroup-memory tiles (bench/matmul-kernels.ts).
 * Runs every variant in this machine's headless Chromium (WebGPU on SwiftShader) and in Node on
 * lavapipe, checks each output against a CPU product and prints milliseconds per dispatch (the
 * fastest of 6 × 3 dispatches) next to the baseline: the 4 × 4 register block with `extractBits`,
 * the prompt kernels' shape before they were cut per adapter.
 */
import { Rng } from '@blyan/model';
import { type Suite, f32Words, inChromium, onLavapipe } from './kernel-timing.ts';
import { type Shape, checkAgainst, cpuProduct, registerBlock, workgroupTile } from './matmul-kernels.ts';

const shape: Shape = { M: Number(process.argv[2] ?? 96), N: 512, K: 128 };
const { M, N, K } = shape;
if (!Number.isSafeInteger(M) || M < 1) throw new Error('usage: pnpm bench:matmul [rows]');

const KERNELS = [
  registerBlock(shape, 4, 4, 'extractBits'),
  registerBlock(shape, 4, 4, 'shift'),
  registerBlock(shape, 8, 4, 'shift'),
  registerBlock(shape, 16, 4, 'shift'),
  registerBlock(shape, 8, 8, 'shift'),
  registerBlock(shape, 4, 16, 'shift'),
  workgroupTile(shape, 32, 64, 32, 4, 8, 'shift'),
  workgroupTile(shape, 64, 64, 32, 8, 8, 'shift'),
  workgroupTile(shape, 64, 64, 64, 8, 8, 'shift'),
];

const rng = new Rng(3);
const x = Array.from({ length: M * K }, () => rng.next() - 0.5);
const w = Array.from({ length: (N * K) / 4 }, () => rng.nextUint32() | 0);
const expected = cpuProduct(shape, x, w);
const suite: Suite = { kernels: KERNELS, inputs: [f32Words(x), w], outputs: M * N, trials: 6, repeats: 3 };

const columns = [
  { label: 'Chromium SwiftShader', timed: (await inChromium([suite]))[0]! },
  { label: 'lavapipe (Node)', timed: (await onLavapipe([suite]))[0]! },
];
for (const { label, timed } of columns) for (const [i, t] of timed.entries()) checkAgainst(expected, t.y, `${label}, ${KERNELS[i]!.name}`);
console.log(`y [${M}, ${N}] = x [${M}, ${K}] · Wᵀ, W int8 [${N}, ${K}]; ms per dispatch (fastest of 6 × 3), × = the baseline's time ÷ the variant's; every output equal to the CPU product within 1e-3\n`);
console.log(`| kernel | ${columns.map((c) => c.label).join(' | ')} |`);
console.log(`| --- | ${columns.map(() => '---').join(' | ')} |`);
for (const [i, k] of KERNELS.entries()) {
  const cells = columns.map(({ timed }) => `${timed[i]!.ms.toFixed(2)} ms${i === 0 ? ' (baseline)' : ` (${(timed[0]!.ms / timed[i]!.ms).toFixed(2)}×)`}`);
  console.log(`| ${k.name} | ${cells.join(' | ')} |`);
}
process.exit(0);

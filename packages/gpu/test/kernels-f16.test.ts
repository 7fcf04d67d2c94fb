import { describe, it } from 'vitest';
import { attentionKernel, promptAttentionKernel } from '../src/kernels/attention.ts';
import { embeddingKernel } from '../src/kernels/embedding.ts';
import { linearBackwardGrid, linearBackwardKernel, linearGrid, linearKernel } from '../src/kernels/linear.ts';
import { ropeGrid, ropeKernel, ropeTableData } from '../src/kernels/rope.ts';
import { attentionForward, embeddingForward, matmulBackward, matmulForward, ropeForward, ropeTable } from '@blyan/model';
import { F16_TOLERANCE, POISON_F16, Rng, asF16, expectClose, f16Device, poisoned, randomNormal, randomTokens, readF16, readF32, runKernel, stepUniform, upload } from './gpu.ts';
import { grid1d } from '../src/kernel.ts';

/**
 * The kernels' f16 variants on a device with shader-f16 (lavapipe), each output poisoned first and
 * checked twice: against the CPU reference on the f16-rounded inputs (the kernel's own arithmetic:
 * 1e-4 for f32 outputs, 1e-3 for outputs stored as f16, one rounding), and against the reference
 * on the unrounded inputs: the f16 path's error, under F16_TOLERANCE (2e-3; measured at most
 * 6.0e-4, rotary's double rounding of keys).
 */
const ROUNDED_F16_OUT = 1e-3;

describe('f16 linear', () => {
  const shapes: readonly (readonly [number, number, number, number, number?])[] = [[1, 16, 8, 1], [3, 13, 7, 4], [5, 128, 128, 4], [2, 130, 33, 1], [9, 64, 1000, 4], [37, 128, 128, 16, 16], [5, 64, 33, 16, 4]];
  for (const [n, In, Out, tm, threads] of shapes) {
    it(`f16 weights [${n}, ${In}] · [${Out}, ${In}]ᵀ, ${tm} rows per thread${threads ? `, ${threads}-thread workgroups` : ''}`, async () => {
      const device = await f16Device();
      const rng = new Rng(n * In + Out);
      const x = randomNormal(rng, n * In);
      const w = asF16(randomNormal(rng, Out * In, 0.1));
      const y = poisoned(device, n * Out);
      const spec = linearKernel({ inFeatures: In, outFeatures: Out, weight: 'f16', rowsPerThread: tm, rows: 'step', outRowOffset: false, residual: false, threads });
      await runKernel(device, spec, { step: stepUniform(device, { n }), x: upload(device, x), w: upload(device, w.bits), y }, linearGrid({ outFeatures: Out, rowsPerThread: tm, threads }, n));
      const got = await readF32(device, y, n * Out);
      expectClose(got, reference(x, w.rounded, n, In, Out), 'linear on rounded weights');
      expectClose(got, reference(x, w.original, n, In, Out), 'linear vs f32 weights', F16_TOLERANCE);
    });
  }

  for (const [n, In, Out, start] of [[1, 16, 12, 7], [3, 13, 7, 5], [6, 64, 64, 0]] as const) {
    it(`f16 weights into an f16 KV cache [${n}, ${In}] · [${Out}, ${In}]ᵀ at row ${start}`, async () => {
      const device = await f16Device();
      const rng = new Rng(n + In + Out + start);
      const x = randomNormal(rng, n * In);
      const w = asF16(randomNormal(rng, Out * In, 0.1));
      const y = upload(device, new Uint16Array((start + n) * Out).fill(POISON_F16));
      const spec = linearKernel({ inFeatures: In, outFeatures: Out, weight: 'f16', out: 'f16', rowsPerThread: 4, rows: 'step', outRowOffset: true, residual: false });
      await runKernel(device, spec, { step: stepUniform(device, { n, start }), x: upload(device, x), w: upload(device, w.bits), y }, linearGrid({ outFeatures: Out, rowsPerThread: 4 }, n));
      const got = await readF16(device, y, n * Out, start * Out);
      expectClose(got, reference(x, w.rounded, n, In, Out), 'KV rows on rounded weights', ROUNDED_F16_OUT);
      expectClose(got, reference(x, w.original, n, In, Out), 'KV rows vs f32', F16_TOLERANCE);
    });
  }

  for (const [n, Out, In, pairs] of [[3, 7, 13, 1], [6, 64, 64, 3], [4, 300, 32, 1]] as const) {
    it(`backward through f16 weights: Σ of ${pairs} [${n}, ${Out}] · [${Out}, ${In}]`, async () => {
      const device = await f16Device();
      const rng = new Rng(n * Out + In + pairs);
      const gs = Array.from({ length: pairs }, () => randomNormal(rng, n * Out));
      const ws = Array.from({ length: pairs }, () => asF16(randomNormal(rng, Out * In)));
      const dx = poisoned(device, n * In);
      const resources: Record<string, GPUBuffer> = { step: stepUniform(device, { n }), dx };
      for (let p = 0; p < pairs; p++) {
        resources[`g${p}`] = upload(device, gs[p]!);
        resources[`w${p}`] = upload(device, ws[p]!.bits);
      }
      await runKernel(device, linearBackwardKernel({ outFeatures: Out, inFeatures: In, pairs, rowsPerThread: 4, weight: 'f16' }), resources, linearBackwardGrid({ inFeatures: In, rowsPerThread: 4 }, n));
      const expected = (which: 'rounded' | 'original') => {
        const out = new Float32Array(n * In);
        for (let p = 0; p < pairs; p++) matmulBackward(out, new Float32Array(Out * In), gs[p]!, new Float32Array(n * In), ws[p]![which], n, In, Out);
        return out;
      };
      const got = await readF32(device, dx, n * In);
      expectClose(got, expected('rounded'), 'linear backward on rounded weights');
      expectClose(got, expected('original'), 'linear backward vs f32 weights', F16_TOLERANCE);
    });
  }
});

describe('f16 embedding', () => {
  for (const [n, V, d] of [[1, 10, 8], [7, 33, 13], [40, 300, 64]] as const) {
    it(`gathers ${n} rows of an f16 [${V}, ${d}] table`, async () => {
      const device = await f16Device();
      const rng = new Rng(n * 31 + d);
      const tokens = randomTokens(rng, n, V);
      const table = asF16(randomNormal(rng, V * d));
      const out = poisoned(device, n * d);
      await runKernel(device, embeddingKernel(V, d, 'f16'), { step: stepUniform(device, { n }), tokens: upload(device, tokens), embed: upload(device, table.bits), out }, grid1d(n * d));
      const got = await readF32(device, out, n * d);
      for (const [which, tolerance] of [['rounded', 1e-7], ['original', F16_TOLERANCE]] as const) {
        const expected = new Float32Array(n * d);
        embeddingForward(expected, tokens, table[which], n, d);
        expectClose(got, expected, `embedding vs ${which} table`, tolerance);
      }
    });
  }
});

describe('f16 KV cache: rope and attention', () => {
  for (const [n, start, H, hd] of [[1, 9, 2, 8], [5, 0, 3, 6], [12, 3, 4, 32]] as const) {
    it(`rotates ${n} rows at ${start} (${H} heads of ${hd}) in q and in an f16 k cache`, async () => {
      const device = await f16Device();
      const rng = new Rng(n * 13 + start);
      const d = H * hd;
      const table = ropeTable(start + n + 2, hd, 10000);
      const q = randomNormal(rng, n * d);
      const k = asF16(randomNormal(rng, n * d));
      const cache = new Uint16Array((start + n) * d).fill(POISON_F16);
      cache.set(k.bits, start * d);
      const [qBuf, kBuf] = [upload(device, q), upload(device, cache)];
      await runKernel(device, ropeKernel(H, hd, 1, 'f16'), { step: stepUniform(device, { n, start, seqLen: n }), table: upload(device, ropeTableData(table)), q: qBuf, k: kBuf }, ropeGrid(n, d));
      const rotated = (x: Float32Array) => {
        const out = new Float32Array(n * d);
        ropeForward(out, x, n, start, H, hd, table);
        return out;
      };
      expectClose(await readF32(device, qBuf, n * d), rotated(q), 'rope q (f32)');
      const got = await readF16(device, kBuf, n * d, start * d);
      expectClose(got, rotated(k.rounded), 'rope k on rounded keys', ROUNDED_F16_OUT);
      expectClose(got, rotated(k.original), 'rope k vs f32 keys', F16_TOLERANCE);
    });
  }

  for (const [n, start, H, hd, ctx, rows] of [[1, 0, 2, 8, 16, 0], [1, 11, 3, 6, 16, 0], [6, 0, 2, 4, 8, 0], [5, 4, 4, 32, 12, 0], [1, 100, 2, 16, 130, 0], [7, 3, 2, 8, 12, 4], [21, 5, 4, 32, 40, 16]] as const) {
    it(`${n} queries after ${start} cached f16 keys and values, ${H} heads of ${hd}${rows ? `, the prompt kernel with ${rows} rows per workgroup` : ''}`, async () => {
      const device = await f16Device();
      const rng = new Rng(n * 100 + start + hd);
      const d = H * hd;
      const q = randomNormal(rng, n * d);
      const k = asF16(randomNormal(rng, ctx * d));
      const v = asF16(randomNormal(rng, ctx * d));
      const out = poisoned(device, n * d);
      const shape = { nHeads: H, headDim: hd, maxKeys: ctx };
      const spec = rows ? promptAttentionKernel(shape, 'f16', rows) : attentionKernel(shape, false, 'f16');
      await runKernel(device, spec, { step: stepUniform(device, { n, start, seqLen: n }), q: upload(device, q), k: upload(device, k.bits), v: upload(device, v.bits), out }, [Math.ceil(n / (rows || 1)), H, 1]);
      const got = await readF32(device, out, n * d);
      for (const [which, tolerance] of [['rounded', 1e-4], ['original', F16_TOLERANCE]] as const) {
        const expected = new Float32Array(n * d);
        attentionForward(expected, null, q, k[which], v[which], n, start, H, hd);
        expectClose(got, expected, `attention vs ${which} keys and values`, tolerance);
      }
    });
  }
});

function reference(x: Float32Array, w: Float32Array, n: number, In: number, Out: number): Float32Array {
  const out = new Float32Array(n * Out);
  matmulForward(out, x, w, n, In, Out);
  return out;
}

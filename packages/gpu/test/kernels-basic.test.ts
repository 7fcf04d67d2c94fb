import { quantizeInt8, toF32 } from '@blyan/block';
import { describe, it } from 'vitest';
import { embeddingKernel } from '../src/kernels/embedding.ts';
import { linearBackwardGrid, linearBackwardKernel, linearGrid, linearKernel } from '../src/kernels/linear.ts';
import { rmsnormBackwardKernel, rmsnormKernel, rmsnormRowsGrid, rmsnormRowsKernel } from '../src/kernels/rmsnorm.ts';
import { ropeGrid, ropeKernel, ropeTableData } from '../src/kernels/rope.ts';
import { embeddingForward, matmulBackward, matmulForward, rmsnormBackward, rmsnormForward, ropeBackward, ropeForward, ropeTable } from '@blyan/model';
import { Rng, expectClose, gpuDevice, poisoned, randomNormal, randomTokens, readF32, runKernel, stepUniform, upload } from './gpu.ts';
import { grid1d } from '../src/kernel.ts';

describe('embedding', () => {
  for (const [n, V, d] of [[1, 10, 8], [7, 33, 13], [40, 300, 64]] as const) {
    it(`gathers ${n} rows of [${V}, ${d}]`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * 31 + d);
      const tokens = randomTokens(rng, n, V);
      const embed = randomNormal(rng, V * d);
      const out = poisoned(device, n * d);
      await runKernel(device, embeddingKernel(V, d), { step: stepUniform(device, { n }), tokens: upload(device, tokens), embed: upload(device, embed), out }, grid1d(n * d));
      const expected = new Float32Array(n * d);
      embeddingForward(expected, tokens, embed, n, d);
      expectClose(await readF32(device, out, n * d), expected, 'embedding');
    });
  }
});

describe('rmsnorm', () => {
  for (const [n, d] of [[1, 16], [5, 13], [9, 128], [3, 200]] as const) {
    it(`normalizes ${n} rows of ${d}, keeping rstd`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * 7 + d);
      const x = randomNormal(rng, n * d, 3);
      const w = randomNormal(rng, d);
      const out = poisoned(device, n * d);
      const rstd = poisoned(device, n);
      await runKernel(device, rmsnormKernel(d, 1e-5, true), { step: stepUniform(device, { n }), x: upload(device, x), weight: upload(device, w), out, rstd }, [n, 1, 1]);
      const eOut = new Float32Array(n * d);
      const eRstd = new Float32Array(n);
      rmsnormForward(eOut, eRstd, x, w, n, d, 1e-5);
      expectClose(await readF32(device, out, n * d), eOut, 'rmsnorm out');
      expectClose(await readF32(device, rstd, n), eRstd, 'rmsnorm rstd');
    });
  }

  for (const [n, d] of [[1, 16], [5, 13], [70, 128]] as const) {
    it(`normalizes ${n} rows of ${d}, one thread per row`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * 5 + d);
      const x = randomNormal(rng, n * d, 3);
      const w = randomNormal(rng, d);
      const out = poisoned(device, n * d);
      await runKernel(device, rmsnormRowsKernel(d, 1e-5), { step: stepUniform(device, { n }), x: upload(device, x), weight: upload(device, w), out }, rmsnormRowsGrid(n));
      const expected = new Float32Array(n * d);
      rmsnormForward(expected, new Float32Array(n), x, w, n, d, 1e-5);
      expectClose(await readF32(device, out, n * d), expected, 'rmsnorm rows out');
    });
  }

  for (const [n, d, residual] of [[4, 13, false], [6, 96, true]] as const) {
    it(`backward on ${n} rows of ${d}${residual ? ' plus the residual gradient' : ''}`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n + d);
      const x = randomNormal(rng, n * d, 2);
      const w = randomNormal(rng, d);
      const dout = randomNormal(rng, n * d);
      const base = randomNormal(rng, n * d);
      const rstd = new Float32Array(n);
      rmsnormForward(new Float32Array(n * d), rstd, x, w, n, d, 1e-5);
      const dx = poisoned(device, n * d);
      const resources = { dout: upload(device, dout), x: upload(device, x), weight: upload(device, w), rstd: upload(device, rstd), dx, ...(residual ? { base: upload(device, base) } : {}) };
      await runKernel(device, rmsnormBackwardKernel(d, residual), resources, [n, 1, 1]);
      const expected = residual ? base.slice() : new Float32Array(n * d);
      rmsnormBackward(expected, new Float32Array(d), dout, x, w, rstd, n, d);
      expectClose(await readF32(device, dx, n * d), expected, 'rmsnorm backward');
    });
  }
});

describe('rope', () => {
  for (const [n, start, H, hd] of [[1, 9, 2, 8], [5, 0, 3, 6], [12, 3, 4, 32]] as const) {
    it(`rotates ${n} rows at ${start} (${H} heads of ${hd}) in q and in the k cache, and back`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * 13 + start);
      const d = H * hd;
      const ctx = start + n + 2;
      const table = ropeTable(ctx, hd, 10000);
      const q = randomNormal(rng, n * d);
      const kc = new Float32Array(ctx * d).fill(NaN);
      kc.set(randomNormal(rng, n * d), start * d);
      const qBuf = upload(device, q);
      const kBuf = upload(device, kc);
      const tableBuf = upload(device, ropeTableData(table));
      await runKernel(device, ropeKernel(H, hd, 1), { step: stepUniform(device, { n, start, seqLen: n }), table: tableBuf, q: qBuf, k: kBuf }, ropeGrid(n, d));
      const eq = new Float32Array(n * d);
      ropeForward(eq, q, n, start, H, hd, table);
      const ek = new Float32Array(n * d);
      ropeForward(ek, kc.subarray(start * d, (start + n) * d), n, start, H, hd, table);
      expectClose(await readF32(device, qBuf, n * d), eq, 'rope q');
      expectClose(await readF32(device, kBuf, n * d, start * d), ek, 'rope k');

      const dq = randomNormal(rng, n * d);
      const dk = randomNormal(rng, n * d);
      const dqBuf = upload(device, dq);
      const dkBuf = upload(device, dk);
      await runKernel(device, ropeKernel(H, hd, -1), { step: stepUniform(device, { n, start: 0, seqLen: n }), table: tableBuf, q: dqBuf, k: dkBuf }, ropeGrid(n, d));
      const edq = new Float32Array(n * d);
      ropeBackward(edq, dq, n, 0, H, hd, table);
      const edk = new Float32Array(n * d);
      ropeBackward(edk, dk, n, 0, H, hd, table);
      expectClose(await readF32(device, dqBuf, n * d), edq, 'rope backward q');
      expectClose(await readF32(device, dkBuf, n * d), edk, 'rope backward k');
    });
  }
});

describe('linear', () => {
  const shapes: readonly (readonly [number, number, number, number, number?])[] = [
    [1, 16, 8, 1],
    [3, 13, 7, 4],
    [5, 128, 128, 4],
    [2, 130, 33, 1],
    [9, 64, 4096, 4],
    [37, 128, 128, 16, 16],
    [5, 64, 33, 16, 4],
  ];
  for (const [n, In, Out, tm, threads] of shapes) {
    for (const weight of ['f32', 'i8'] as const) {
      it(`${weight} [${n}, ${In}] · [${Out}, ${In}]ᵀ, ${tm} rows per thread${threads ? `, ${threads}-thread workgroups` : ''}`, async () => {
        const device = await gpuDevice();
        const rng = new Rng(n * In + Out);
        const x = randomNormal(rng, n * In);
        const wF = randomNormal(rng, Out * In, 0.1);
        const q = quantizeInt8(wF, [Out, In]);
        const y = poisoned(device, n * Out);
        const wRes: Record<string, GPUBuffer> = weight === 'f32' ? { w: upload(device, wF) } : { w: upload(device, q.data), w_scales: upload(device, q.scales) };
        const spec = linearKernel({ inFeatures: In, outFeatures: Out, weight, rowsPerThread: tm, rows: 'step', outRowOffset: false, residual: false, threads });
        await runKernel(device, spec, { step: stepUniform(device, { n }), x: upload(device, x), ...wRes, y }, linearGrid({ outFeatures: Out, rowsPerThread: tm, threads }, n));
        const expected = new Float32Array(n * Out);
        matmulForward(expected, x, weight === 'f32' ? wF : toF32(q), n, In, Out);
        expectClose(await readF32(device, y, n * Out), expected, 'linear');
      });
    }
  }

  it('computes only the last row, into row 0', async () => {
    const device = await gpuDevice();
    const rng = new Rng(78);
    const [n, In, Out] = [5, 24, 300];
    const x = randomNormal(rng, n * In);
    const w = randomNormal(rng, Out * In);
    const y = poisoned(device, Out);
    const spec = linearKernel({ inFeatures: In, outFeatures: Out, weight: 'f32', rowsPerThread: 1, rows: 'last', outRowOffset: false, residual: false });
    await runKernel(device, spec, { step: stepUniform(device, { n, lastRow: n - 1 }), x: upload(device, x), w: upload(device, w), y }, linearGrid({ outFeatures: Out, rowsPerThread: 1 }, 1));
    const expected = new Float32Array(Out);
    matmulForward(expected, x.subarray((n - 1) * In), w, 1, In, Out);
    expectClose(await readF32(device, y, Out), expected, 'linear last row');
  });

  it('writes at the KV offset and adds a residual', async () => {
    const device = await gpuDevice();
    const rng = new Rng(77);
    const [n, In, Out, start] = [3, 20, 12, 5];
    const x = randomNormal(rng, n * In);
    const w = randomNormal(rng, Out * In);
    const res = randomNormal(rng, n * Out);
    const y = poisoned(device, (start + n) * Out);
    const spec = linearKernel({ inFeatures: In, outFeatures: Out, weight: 'f32', rowsPerThread: 4, rows: 'step', outRowOffset: true, residual: true });
    await runKernel(device, spec, { step: stepUniform(device, { n, start }), x: upload(device, x), w: upload(device, w), y, res: upload(device, res) }, linearGrid({ outFeatures: Out, rowsPerThread: 4 }, n));
    const expected = new Float32Array(n * Out);
    matmulForward(expected, x, w, n, In, Out);
    for (let i = 0; i < expected.length; i++) expected[i] = res[i]! + expected[i]!;
    expectClose(await readF32(device, y, n * Out, start * Out), expected, 'linear offset residual');
  });

  for (const [n, Out, In, pairs] of [[3, 7, 13, 1], [6, 64, 64, 3], [4, 300, 32, 1]] as const) {
    it(`backward: Σ of ${pairs} [${n}, ${Out}] · [${Out}, ${In}]`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * Out + In + pairs);
      const gs = Array.from({ length: pairs }, () => randomNormal(rng, n * Out));
      const ws = Array.from({ length: pairs }, () => randomNormal(rng, Out * In));
      const dx = poisoned(device, n * In);
      const resources: Record<string, GPUBuffer> = { step: stepUniform(device, { n }), dx };
      for (let p = 0; p < pairs; p++) {
        resources[`g${p}`] = upload(device, gs[p]!);
        resources[`w${p}`] = upload(device, ws[p]!);
      }
      await runKernel(device, linearBackwardKernel({ outFeatures: Out, inFeatures: In, pairs, rowsPerThread: 4 }), resources, linearBackwardGrid({ inFeatures: In, rowsPerThread: 4 }, n));
      const expected = new Float32Array(n * In);
      for (let p = 0; p < pairs; p++) matmulBackward(expected, new Float32Array(Out * In), gs[p]!, new Float32Array(n * In), ws[p]!, n, In, Out);
      expectClose(await readF32(device, dx, n * In), expected, 'linear backward');
    });
  }
});

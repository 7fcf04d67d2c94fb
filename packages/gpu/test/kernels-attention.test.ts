import { describe, it } from 'vitest';
import { attentionBackwardKVKernel, attentionBackwardQKernel, attentionKernel, promptAttentionKernel } from '../src/kernels/attention.ts';
import { attentionBackward, attentionForward } from '@blyan/model';
import { Rng, expectClose, gpuDevice, poisoned, randomNormal, readF32, runKernel, stepUniform, upload } from './gpu.ts';
import { grid1d } from '../src/kernel.ts';

describe('attention', () => {
  for (const [n, start, H, hd, ctx] of [[1, 0, 2, 8, 16], [1, 11, 3, 6, 16], [6, 0, 2, 4, 8], [5, 4, 4, 32, 12], [1, 100, 2, 16, 130]] as const) {
    it(`${n} queries after ${start} cached keys, ${H} heads of ${hd}`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * 100 + start + hd);
      const d = H * hd;
      const q = randomNormal(rng, n * d);
      const k = randomNormal(rng, ctx * d);
      const v = randomNormal(rng, ctx * d);
      const out = poisoned(device, n * d);
      const spec = attentionKernel({ nHeads: H, headDim: hd, maxKeys: ctx }, false);
      await runKernel(device, spec, { step: stepUniform(device, { n, start, seqLen: n }), q: upload(device, q), k: upload(device, k), v: upload(device, v), out }, [n, H, 1]);
      const expected = new Float32Array(n * d);
      attentionForward(expected, null, q, k, v, n, start, H, hd);
      expectClose(await readF32(device, out, n * d), expected, 'attention');
    });
  }

  for (const [B, T, H, hd] of [[1, 5, 2, 4], [3, 7, 3, 6], [2, 16, 4, 8]] as const) {
    it(`training batch ${B}×${T}, ${H} heads of ${hd}: probabilities, then dq, dk, dv`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(B * 10 + T + hd);
      const d = H * hd;
      const n = B * T;
      const q = randomNormal(rng, n * d);
      const k = randomNormal(rng, n * d);
      const v = randomNormal(rng, n * d);
      const dout = randomNormal(rng, n * d);
      const step = stepUniform(device, { n, start: 0, seqLen: T });
      const shape = { nHeads: H, headDim: hd, maxKeys: T };
      const [qB, kB, vB] = [upload(device, q), upload(device, k), upload(device, v)];
      const out = poisoned(device, n * d);
      const att = poisoned(device, B * H * T * T);
      await runKernel(device, attentionKernel(shape, true), { step, q: qB, k: kB, v: vB, out, att }, [n, H, 1]);
      const eOut = new Float32Array(n * d);
      const eAtt = new Float32Array(B * H * T * T);
      const rows = (a: Float32Array, b: number) => a.subarray(b * T * d, (b + 1) * T * d);
      for (let b = 0; b < B; b++) attentionForward(rows(eOut, b), eAtt.subarray(b * H * T * T, (b + 1) * H * T * T), rows(q, b), rows(k, b), rows(v, b), T, 0, H, hd);
      expectClose(await readF32(device, out, n * d), eOut, 'attention out');
      expectClose(await readF32(device, att, B * H * T * T), eAtt, 'attention probabilities');

      const ds = poisoned(device, B * H * T * T);
      const [dq, dk, dv] = [poisoned(device, n * d), poisoned(device, n * d), poisoned(device, n * d)];
      const doutB = upload(device, dout);
      await runKernel(device, attentionBackwardQKernel(shape), { step, dout: doutB, k: kB, v: vB, att, ds, dq }, [n, H, 1]);
      await runKernel(device, attentionBackwardKVKernel(shape), { step, dout: doutB, q: qB, att, ds, dk, dv }, grid1d(n * d));
      const [edq, edk, edv] = [new Float32Array(n * d), new Float32Array(n * d), new Float32Array(n * d)];
      for (let b = 0; b < B; b++) {
        attentionBackward(rows(edq, b), rows(edk, b), rows(edv, b), rows(dout, b), eAtt.subarray(b * H * T * T, (b + 1) * H * T * T), rows(q, b), rows(k, b), rows(v, b), T, H, hd);
      }
      expectClose(await readF32(device, dq, n * d), edq, 'dq');
      expectClose(await readF32(device, dk, n * d), edk, 'dk');
      expectClose(await readF32(device, dv, n * d), edv, 'dv');
    });
  }
});

describe('prompt attention, one query row per thread', () => {
  // Rows not a multiple of the block, a start past 0, one row; f32 here, f16 in kernels-f16.test.ts.
  for (const [n, start, H, hd, ctx, rows] of [[7, 0, 2, 8, 16, 4], [5, 4, 4, 32, 12, 4], [1, 9, 3, 6, 16, 4], [6, 3, 2, 4, 12, 2], [40, 7, 4, 32, 64, 16]] as const) {
    it(`${n} queries after ${start} cached keys, ${H} heads of ${hd}, ${rows} rows per workgroup: the reference's output`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n * 100 + start + hd + rows);
      const d = H * hd;
      const q = randomNormal(rng, n * d);
      const k = randomNormal(rng, ctx * d);
      const v = randomNormal(rng, ctx * d);
      const out = poisoned(device, n * d);
      const spec = promptAttentionKernel({ nHeads: H, headDim: hd, maxKeys: ctx }, 'f32', rows);
      await runKernel(device, spec, { step: stepUniform(device, { n, start, seqLen: n }), q: upload(device, q), k: upload(device, k), v: upload(device, v), out }, [Math.ceil(n / rows), H, 1]);
      const expected = new Float32Array(n * d);
      attentionForward(expected, null, q, k, v, n, start, H, hd);
      expectClose(await readF32(device, out, n * d), expected, 'prompt attention');
    });
  }
});

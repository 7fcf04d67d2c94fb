import { describe, expect, it } from 'vitest';
import { adamwKernel, encodeAdamW, gradNormKernel } from '../src/kernels/adamw.ts';
import { crossEntropyKernel } from '../src/kernels/loss.ts';
import { sampleKernel, sampleScratch } from '../src/kernels/sample.ts';
import { uniformBuffer } from '../src/buffers.ts';
import { type ModelConfig, Rng, adamwStep, createAdamW, crossEntropyBackward, crossEntropyForward, sampleToken } from '@blyan/model';
import { expectClose, gpuDevice, poisoned, randomNormal, randomTokens, readF32, readU32, runKernel, stepUniform, upload } from './gpu.ts';
import { grid1d } from '../src/kernel.ts';

describe('cross-entropy', () => {
  for (const [n, V] of [[1, 10], [5, 37], [8, 4096]] as const) {
    it(`${n} rows of ${V} logits: losses and the gradient of their mean`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(n + V);
      const logits = randomNormal(rng, n * V, 3);
      const targets = randomTokens(rng, n, V);
      const logitsB = upload(device, logits);
      const losses = poisoned(device, n);
      await runKernel(device, crossEntropyKernel(V), { step: stepUniform(device, { n }), targets: upload(device, targets), logits: logitsB, losses }, [n, 1, 1]);
      const eLoss = new Float32Array(n);
      const probs = new Float32Array(n * V);
      crossEntropyForward(eLoss, probs, logits, targets, n, V);
      const eGrad = new Float32Array(n * V);
      crossEntropyBackward(eGrad, new Float32Array(n).fill(1 / n), probs, targets, n, V);
      expectClose(await readF32(device, losses, n), eLoss, 'losses');
      expectClose(await readF32(device, logitsB, n * V), eGrad, 'dlogits');
    });
  }
});

describe('sampling', () => {
  const cases = [
    { temperature: 0 },
    { temperature: 1 },
    { temperature: 0.7, topK: 5 },
    { temperature: 1.3, topP: 0.9 },
    { temperature: 0.8, topK: 50, topP: 0.95 },
    { temperature: 1, topK: 1 },
  ];
  for (const V of [7, 300, 4096]) {
    for (const options of cases) {
      it(`V ${V}, ${JSON.stringify(options)}: the reference's token for the same draw`, async () => {
        const device = await gpuDevice();
        const rng = new Rng(V);
        const spec = sampleKernel(V);
        const scratch = poisoned(device, sampleScratch(V));
        for (let trial = 0; trial < 6; trial++) {
          const logits = randomNormal(rng, V, 2);
          if (trial === 0) logits[V - 1] = logits[0]!;
          const seed = V * 31 + trial;
          const expected = sampleToken(logits, options, new Rng(seed));
          const draw = options.temperature === 0 ? 0 : new Rng(seed).next();
          const result = poisoned(device, 1);
          const tokens = poisoned(device, 1);
          const step = stepUniform(device, { temperature: options.temperature, topK: options.topK ?? 0, topP: options.topP ?? 1, draw });
          await runKernel(device, spec, { step, logits: upload(device, logits), scratch, result, tokens }, [1, 1, 1]);
          expect((await readU32(device, result, 1))[0], `trial ${trial}`).toBe(expected);
          expect((await readU32(device, tokens, 1))[0]).toBe(expected);
        }
      });
    }
  }

  it('argmax breaks ties toward the lower id', async () => {
    const device = await gpuDevice();
    const logits = new Float32Array(700).fill(-1);
    logits[650] = 5;
    logits[333] = 5;
    const result = poisoned(device, 1);
    await runKernel(device, sampleKernel(700), { step: stepUniform(device, {}), logits: upload(device, logits), scratch: poisoned(device, sampleScratch(700)), result, tokens: poisoned(device, 1) }, [1, 1, 1]);
    expect((await readU32(device, result, 1))[0]).toBe(333);
  });
});

describe('AdamW', () => {
  const cfg: ModelConfig = { vocabSize: 4, dModel: 4, nLayers: 1, nHeads: 1, nExperts: 2, topK: 1, dFF: 4, contextLength: 4, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0 };
  for (const [elements, gradStd, steps] of [[10, 0.01, 3], [1000, 5, 2], [4099, 0.001, 2]] as const) {
    it(`${elements} parameters, gradient norm ${gradStd > 1 ? 'clipped' : 'unclipped'}, ${steps} steps`, async () => {
      const device = await gpuDevice();
      const rng = new Rng(elements);
      const param = randomNormal(rng, elements, 0.1);
      const name = 'layers.0.experts.0.w1';
      const params = { [name]: param.slice() };
      const opt = createAdamW(params, cfg, [name]);
      const options = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
      const paramB = upload(device, param);
      const m = upload(device, new Float32Array(elements));
      const v = upload(device, new Float32Array(elements));
      const norm = poisoned(device, 1);
      const adam = uniformBuffer(device, 'adam', 48);
      for (let s = 1; s <= steps; s++) {
        const grad = randomNormal(rng, elements, gradStd);
        const { gradNorm } = adamwStep(opt, params, { [name]: grad }, options);
        const gradB = upload(device, grad.map((g) => g * 2));
        device.queue.writeBuffer(adam, 0, encodeAdamW({ ...options, c1: 1 - options.beta1 ** s, c2: 1 - options.beta2 ** s, gradScale: 0.5 }));
        await runKernel(device, gradNormKernel(elements), { adam, grad: gradB, norm }, [1, 1, 1]);
        expectClose(await readF32(device, norm, 1), [gradNorm], 'gradient norm');
        await runKernel(device, adamwKernel(elements), { adam, grad: gradB, norm, param: paramB, m, v }, grid1d(elements));
      }
      expectClose(await readF32(device, paramB, elements), params[name]!, 'parameters');
      expectClose(await readF32(device, m, elements), opt.m[name]!, 'first moment');
      expectClose(await readF32(device, v, elements), opt.v[name]!, 'second moment');
    });
  }
});

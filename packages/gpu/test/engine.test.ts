import { afterAll, describe, expect, it } from 'vitest';
import { BlyanEngine } from '../src/engine.ts';
import { promptShapeFor } from '../src/inference.ts';
import { MissingExpertError, type ModelConfig, Rng, type Routing, decodeStep, expertTensorNames, greedyDecode, prefill, sampleToken } from '@blyan/model';
import { collect, expectClose, gpuDevice } from './gpu.ts';
import { TINY, randomModel } from './model.ts';

const ODD: ModelConfig = { vocabSize: 37, dModel: 12, nLayers: 3, nHeads: 2, nExperts: 5, topK: 2, dFF: 10, contextLength: 20, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };


describe('engine: decoding matches the CPU reference', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));

  for (const [cfg, name, decode] of [[TINY, 'tiny', 'fused'], [ODD, 'odd sizes', 'fused'], [ODD, 'odd sizes', 'per-operation']] as const) {
    it(`${name}, ${decode} decode pass: prefill logits, then greedy decoding token for token`, async () => {
      const device = await gpuDevice();
      const { params, tensors } = randomModel(cfg, 3);
      const engine = await BlyanEngine.create(device, cfg, { decode });
      engines.push(engine);
      engine.load(tensors);
      const prompt = [5, 17, 3, 3, 28, 0, 9].map((t) => t % cfg.vocabSize);
      const count = cfg.contextLength - prompt.length;
      const expected = greedyDecode(params, cfg, prompt, count);
      await engine.prefill(prompt);
      expectClose(await engine.readLogits(), expected.prefillLogits, 'prefill logits');
      const before = { ...engine.counters };
      const tokens = await collect(engine.generate({ maxTokens: count, sampling: { temperature: 0 } }));
      expect(tokens).toEqual(expected.tokens);
      expect(engine.counters.submissions - before.submissions).toBe(count);
      expect(engine.counters.readbacks - before.readbacks).toBe(count);
      expectClose(await engine.readLogits(), expected.lastLogits, 'last logits');
    });
  }

  it('continues a generation across generate calls, and a one-token prompt', async () => {
    const device = await gpuDevice();
    const { params, tensors } = randomModel(TINY, 4);
    const engine = await BlyanEngine.create(device, TINY, { decode: 'fused' });
    engines.push(engine);
    engine.load(tensors);
    const expected = greedyDecode(params, TINY, [7], 10);
    await engine.prefill([7]);
    const a = await collect(engine.generate({ maxTokens: 4, sampling: { temperature: 0 } }));
    const b = await collect(engine.generate({ maxTokens: 6, sampling: { temperature: 0 } }));
    expect([...a, ...b]).toEqual(expected.tokens);
    expect(engine.position).toBe(10);
  });

  // A one-token prompt runs the one-token pass, which then chooses the static-prompt set itself.
  const routings = [
    [{ mode: 'static', allowed: [[0, 2, 3], null] }, [1, 2, 3, 4, 5, 6]],
    [{ mode: 'static-prompt', expertsPerLayer: 2 }, [1, 2, 3, 4, 5, 6]],
    [{ mode: 'static-prompt', expertsPerLayer: 2 }, [11]],
  ] as const satisfies readonly (readonly [Routing, readonly number[]])[];
  for (const [routing, prompt] of routings) {
    it(`${routing.mode} routing, ${prompt.length}-token prompt`, async () => {
      const device = await gpuDevice();
      const { params, tensors } = randomModel(TINY, 5);
      const engine = await BlyanEngine.create(device, TINY, { decode: 'fused' });
      engines.push(engine);
      engine.load(tensors);
      const expected = greedyDecode(params, TINY, [...prompt], 8, routing);
      await engine.prefill(prompt, routing);
      expect(await collect(engine.generate({ maxTokens: 8, sampling: { temperature: 0 } }))).toEqual(expected.tokens);
    });
  }

  it('samples with temperature, top-k and top-p like the reference for the same seed', async () => {
    const device = await gpuDevice();
    const { params, tensors } = randomModel(TINY, 6, 3);
    const engine = await BlyanEngine.create(device, TINY, { decode: 'fused' });
    engines.push(engine);
    engine.load(tensors);
    const prompt = [9, 8, 7];
    const sampling = { temperature: 0.9, topK: 20, topP: 0.95 };
    const first = prefill(params, TINY, prompt);
    const rng = new Rng(42);
    const expected: number[] = [];
    let logits = first.logits;
    for (let i = 0; i < 12; i++) {
      const t = sampleToken(logits, sampling, rng);
      expected.push(t);
      logits = decodeStep(first.state, t);
    }
    await engine.prefill(prompt);
    expect(await collect(engine.generate({ maxTokens: 12, sampling, seed: 42 }))).toEqual(expected);
  });

  it('reports a missing expert; once added, decoding resumes token for token', async () => {
    const device = await gpuDevice();
    const { params, tensors } = randomModel(TINY, 3);
    const prompt = [5, 17, 3, 3, 28, 0, 9];
    const expected = greedyDecode(params, TINY, prompt, 8);
    const expert = (l: number, e: number) => {
      const n = expertTensorNames(l, e);
      return { w1: tensors[n.w1]!, w3: tensors[n.w3]!, w2: tensors[n.w2]! };
    };
    const promptExpert = expected.state.routes[1]![0]!.experts[0]!;
    const names = Object.values(expertTensorNames(1, promptExpert));
    const engine = await BlyanEngine.create(device, TINY, { decode: 'fused' });
    engines.push(engine);
    engine.load(Object.fromEntries(Object.entries(tensors).filter(([n]) => !names.includes(n))));
    expect(engine.hasExpert(1, promptExpert)).toBe(false);
    const error = await engine.prefill(prompt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingExpertError);
    expect(error).toMatchObject({ layer: 1, expert: promptExpert });
    engine.addExpert(1, promptExpert, expert(1, promptExpert));
    await engine.prefill(prompt);
    const tokens = await collect(engine.generate({ maxTokens: 3, sampling: { temperature: 0 } }));
    const next = expected.state.routes[0]![prompt.length + 2]!.experts[1]!;
    engine.evictExpert(0, next);
    await expect(collect(engine.generate({ maxTokens: 5, sampling: { temperature: 0 } }))).rejects.toMatchObject({ name: 'MissingExpertError', layer: 0, expert: next });
    engine.addExpert(0, next, expert(0, next));
    tokens.push(...(await collect(engine.generate({ maxTokens: 5, sampling: { temperature: 0 } }))));
    expect(tokens).toEqual(expected.tokens);
  });

  it('needs a free pool slot for each expert', async () => {
    const device = await gpuDevice();
    const { tensors } = randomModel(TINY, 3);
    const engine = await BlyanEngine.create(device, TINY, { expertSlots: TINY.nExperts - 1, decode: 'fused' });
    engines.push(engine);
    expect(() => engine.load(tensors)).toThrow(/no free expert slot/);
  });
});

/**
 * TINY with room for a 40-token prompt: 80 assignments over 4 experts, so expert tiles come full
 * and partial (16-row blocks: engine-f16.test.ts on lavapipe, where they compile in a second rather
 * than SwiftShader's ten).
 */
const LONG: ModelConfig = { ...TINY, contextLength: 48 };

describe('engine: the prompt pass in each shape matches the CPU reference', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));

  for (const shape of [{ rows: 8, threads: 16 }, { rows: 4, threads: 64 }, { rows: 2, threads: 4 }]) {
    it(`${shape.rows}-row blocks in ${shape.threads}-thread workgroups: prefill logits of a 40-token prompt, then greedy tokens`, async () => {
      const device = await gpuDevice();
      const { params, tensors } = randomModel(LONG, 11);
      const engine = await BlyanEngine.create(device, LONG, { prompt: shape });
      engines.push(engine);
      engine.load(tensors);
      const prompt = Array.from({ length: 40 }, (_, i) => (i * 29 + 7) % LONG.vocabSize);
      const expected = greedyDecode(params, LONG, prompt, 8);
      await engine.prefill(prompt);
      expectClose(await engine.readLogits(), expected.prefillLogits, 'prefill logits');
      expect(await collect(engine.generate({ maxTokens: 8, sampling: { temperature: 0 } }))).toEqual(expected.tokens);
    });
  }

  it('takes 8-row blocks in 16-thread workgroups on SwiftShader, 4-row blocks in 64-thread ones elsewhere', () => {
    expect(promptShapeFor({ architecture: 'swiftshader' })).toEqual({ rows: 8, threads: 16 });
    expect(promptShapeFor({ architecture: 'software' })).toEqual({ rows: 4, threads: 64 });
  });

  it('refuses a shape it cannot run', async () => {
    const device = await gpuDevice();
    await expect(BlyanEngine.create(device, TINY, { prompt: { rows: 1, threads: 64 } })).rejects.toThrow(/prompt.rows must be an integer in \[2, 32\]/);
    await expect(BlyanEngine.create(device, TINY, { prompt: { rows: 8, threads: 48 } })).rejects.toThrow(/prompt.threads must be a power of two/);
  });
});

describe('engine: passes compiled at creation, ahead of use, or on first use', () => {
  const engines: BlyanEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));
  const none = { prompt: 'not compiled', decode: 'not compiled', sample: 'not compiled' };
  const all = { prompt: 'compiled', decode: 'compiled', sample: 'compiled' };

  it('compiles every pass at creation by default', async () => {
    const engine = await BlyanEngine.create(await gpuDevice(), ODD);
    engines.push(engine);
    expect(engine.pipelines()).toEqual(all);
  });

  it('with none compiled at creation, a prefill compiles the prompt pass alone and decoding the rest; logits and tokens are the reference\'s', async () => {
    const { params, tensors } = randomModel(ODD, 5);
    const engine = await BlyanEngine.create(await gpuDevice(), ODD, { compile: [] });
    engines.push(engine);
    expect(engine.pipelines()).toEqual(none);
    engine.load(tensors);
    const prompt = [4, 30, 2, 11, 19];
    const expected = greedyDecode(params, ODD, prompt, 6);
    await engine.prefill(prompt);
    expect(engine.pipelines()).toEqual({ ...none, prompt: 'compiled' });
    expectClose(await engine.readLogits(), expected.prefillLogits, 'prefill logits');
    expect(await collect(engine.generate({ maxTokens: 6, sampling: { temperature: 0 } }))).toEqual(expected.tokens);
    expect(engine.pipelines()).toEqual(all);
  });

  it('compile() compiles what is left one pass after another, in the order an answer needs them', async () => {
    const engine = await BlyanEngine.create(await gpuDevice(), ODD, { compile: ['sample'] });
    engines.push(engine);
    expect(engine.pipelines()).toEqual({ ...none, sample: 'compiled' });
    const compiling = engine.compile();
    expect(engine.pipelines()).toEqual({ prompt: 'compiling', decode: 'not compiled', sample: 'compiled' });
    await compiling;
    expect(engine.pipelines()).toEqual(all);
  });

  it('refuses an unknown pass', async () => {
    await expect(BlyanEngine.create(await gpuDevice(), TINY, { compile: ['prefill' as 'prompt'] })).rejects.toThrow(/compile names an unknown pass "prefill"/);
  });
});

import { type TensorMap, decodeTensors } from '@blyan/block';
import { BlyanEngine, requestGpuDevice } from '@blyan/gpu';
import { type ModelConfig, type ParamMap, argmax, expertTensorNames, parameterShapes } from '@blyan/model';
import { throughBlocks } from '@blyan/model/blocks';
import { buildGradientGraph, ioNames } from '@blyan/model/onnx/graphs';
import { OrtRunner, type OrtRuntime, WASM_RUNTIME } from './worker/ort-runner.ts';

/**
 * This engine against onnxruntime-web on the same model, in this page, for
 * apps/web/bench/ort-compare.ts: one backend per page load (each its own bundle), the same
 * weights (the checkpoint through the blocks' int8 expert encoding, as the app runs it), greedy
 * tokens, dynamic routing.
 */
interface Model {
  cfg: ModelConfig;
  /** f32 weights as the blocks decode (the ONNX graphs' inputs). */
  params: ParamMap;
  /** The same as the engine uploads them (int8 experts). */
  tensors: TensorMap;
}

async function loadModel(url: string): Promise<Model> {
  const { tensors, metadata } = decodeTensors(new Uint8Array(await (await fetch(url)).arrayBuffer()));
  const cfg = JSON.parse(metadata.config!) as ModelConfig;
  const raw: ParamMap = {};
  for (const { name } of parameterShapes(cfg)) {
    const t = tensors[name];
    if (t?.dtype !== 'f32') throw new Error(`the checkpoint has no f32 tensor ${name}`);
    raw[name] = t.data;
  }
  return { cfg, ...throughBlocks(cfg, raw, 'int8') };
}

/** A training micro-step's batch: B sequences of T tokens (targets: the next token). */
interface Batch {
  tokens: number[];
  targets: number[];
  B: number;
  T: number;
}

/** One backend as the comparison drives it. */
interface Contender {
  /** Greedy tokens after `prompt`: the first token's milliseconds and the rest's. */
  generate(prompt: readonly number[], count: number): Promise<{ tokens: number[]; firstMs: number; restMs: number }>;
  /** Milliseconds of a prefill of `prompt` up to the logits of its last position, read back. */
  prefill(prompt: readonly number[]): Promise<number>;
  /** Milliseconds of one training micro-step (forward and backward) of one expert, or why it cannot run. */
  train(batch: Batch): Promise<number | string>;
  close(): Promise<void>;
}

const GREEDY = { temperature: 0, topK: 0, topP: 1 };
const TRAINED = { layer: 0, expert: 0 };

async function engineContender(m: Model): Promise<Contender> {
  const device = await requestGpuDevice(navigator.gpu);
  const engine = await BlyanEngine.create(device, m.cfg);
  engine.load(m.tensors);
  return {
    async generate(prompt, count) {
      const t0 = performance.now();
      await engine.prefill(prompt);
      const tokens: number[] = [];
      let first = 0;
      for await (const t of engine.generate({ maxTokens: count, sampling: GREEDY })) {
        if (tokens.push(t) === 1) first = performance.now();
      }
      return { tokens, firstMs: first - t0, restMs: performance.now() - first };
    },
    async prefill(prompt) {
      const t0 = performance.now();
      await engine.prefill(prompt);
      await engine.readLogits();
      return performance.now() - t0;
    },
    async train({ tokens, targets, B, T }) {
      const trainer = await engine.createTrainer({ ...TRAINED, batch: B, seqLen: T, adamw: { lr: 1e-3 } });
      await trainer.microStep(tokens, targets);
      const t0 = performance.now();
      await trainer.microStep(tokens, targets);
      return performance.now() - t0;
    },
    async close() {
      engine.destroy();
      device.destroy();
    },
  };
}

async function ortContender(m: Model, runtime: OrtRuntime): Promise<Contender> {
  const runner = await OrtRunner.open(m.cfg, runtime);
  const none = Array.from({ length: m.cfg.nLayers }, () => null);
  // A model with sequence budgets: a budget of every expert is dynamic routing.
  const budget = (length: number) => (m.cfg.sequenceBudgets === undefined ? null : { experts: m.cfg.nExperts, promptTokens: length });
  const next = async (seq: readonly number[]) => argmax((await runner.forward(m.params, seq, none, budget(seq.length))).logits);
  return {
    async generate(prompt, count) {
      const seq = [...prompt];
      const t0 = performance.now();
      seq.push(await next(seq));
      const first = performance.now();
      while (seq.length < prompt.length + count) seq.push(await next(seq));
      return { tokens: seq.slice(prompt.length), firstMs: first - t0, restMs: performance.now() - first };
    },
    async prefill(prompt) {
      const t0 = performance.now();
      await next(prompt);
      return performance.now() - t0;
    },
    async train(batch) {
      try {
        return await ortTrainStep(m, runtime, batch);
      } catch (e) {
        return `fails: ${(e as Error).message.slice(0, 160)}`;
      }
    },
    close: () => runner.release(),
  };
}

/** One forward and backward pass of the gradient graph for one expert's three tensors (the micro-step without the optimizer), timed after a warm-up. */
async function ortTrainStep(m: Model, runtime: OrtRuntime, { tokens, targets, B, T }: Batch): Promise<number> {
  const { ort } = runtime;
  const n = expertTensorNames(TRAINED.layer, TRAINED.expert);
  const session = await ort.InferenceSession.create(buildGradientGraph(m.cfg, [n.w1, n.w3, n.w2]), { executionProviders: runtime.executionProviders, graphOptimizationLevel: 'all' });
  try {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const { name, shape } of parameterShapes(m.cfg)) feeds[name] = new ort.Tensor('float32', m.params[name]!, [...shape]);
    feeds[ioNames.TOKENS] = new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [B, T]);
    feeds[ioNames.TARGETS] = new ort.Tensor('int64', BigInt64Array.from(targets, BigInt), [B, T]);
    feeds[ioNames.EXPERT_MASKS] = new ort.Tensor('float32', new Float32Array(m.cfg.nLayers * m.cfg.nExperts).fill(1), [m.cfg.nLayers, m.cfg.nExperts]);
    if (m.cfg.sequenceBudgets !== undefined) {
      feeds[ioNames.EXPERT_BUDGETS] = new ort.Tensor('float32', new Float32Array(B).fill(m.cfg.nExperts), [B]);
      feeds[ioNames.PROMPT_LENGTHS] = new ort.Tensor('float32', new Float32Array(B).fill(T), [B]);
    }
    await session.run(feeds);
    const t0 = performance.now();
    await session.run(feeds);
    return performance.now() - t0;
  } finally {
    await session.release();
  }
}

/** onnxruntime-web's WebGPU execution provider, from its WebGPU bundle (the default bundle's JSEP fails on this graph: docs/BENCHMARKS.md). */
async function webgpuRuntime(): Promise<OrtRuntime> {
  const [ort, mjs, wasm] = await Promise.all([
    import('onnxruntime-web/webgpu'),
    import('onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'),
    import('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'),
  ]);
  return {
    ort,
    executionProviders: ['webgpu'],
    configure(o) {
      o.env.wasm.wasmPaths = { mjs: mjs.default, wasm: wasm.default };
      o.env.wasm.numThreads = 1;
    },
  };
}

export type Backend = 'engine' | 'ort-webgpu' | 'ort-wasm';

export interface Measured {
  backend: Backend;
  /** Milliseconds to load the weights into the backend (engine creation and upload, or the session). */
  setupMs: number;
  tokens: number[];
  firstTokenMs: number;
  decodeTokensPerSecond: number;
  /** Prompt length → median milliseconds of its prefill. */
  prefillMs: Record<number, number>;
  trainMs: number | string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const compare = {
  /** Measures `backend` on the checkpoint at `url`: a warm-up answer, then `runs` timed ones, prefills and a micro-step. */
  async run(backend: Backend, url: string, o: { prompt: number[]; count: number; prefills: number[]; runs: number; batch: Batch }): Promise<Measured> {
    const m = await loadModel(url);
    const t0 = performance.now();
    const c = backend === 'engine' ? await engineContender(m) : await ortContender(m, backend === 'ort-wasm' ? WASM_RUNTIME : await webgpuRuntime());
    const setupMs = performance.now() - t0;
    try {
      await c.generate(o.prompt, 2);
      const answers = [];
      for (let r = 0; r < o.runs; r++) answers.push(await c.generate(o.prompt, o.count));
      const tokens = answers[0]!.tokens;
      if (answers.some((a) => a.tokens.join() !== tokens.join())) throw new Error(`${backend} gave different tokens on the same prompt`);
      const prefillMs: Record<number, number> = {};
      for (const length of o.prefills) {
        const prompt = Array.from({ length }, (_, i) => o.prompt[i % o.prompt.length]!);
        await c.prefill(prompt);
        const times: number[] = [];
        for (let r = 0; r < o.runs; r++) times.push(await c.prefill(prompt));
        prefillMs[length] = median(times);
      }
      return {
        backend,
        setupMs,
        tokens,
        firstTokenMs: median(answers.map((a) => a.firstMs)),
        decodeTokensPerSecond: median(answers.map((a) => ((o.count - 1) * 1000) / a.restMs)),
        prefillMs,
        trainMs: await c.train(o.batch),
      };
    } finally {
      await c.close();
    }
  },
};

(window as unknown as { blyanCompare: typeof compare }).blyanCompare = compare;

import { type ModelConfig, type ParamMap, type SequenceBudget, elementCount, parameterShapes } from '@blyan/model';
import { buildRoutedForwardGraph, ioNames, routedName } from '@blyan/model/onnx/graphs';
import * as wasmBundle from 'onnxruntime-web/wasm';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

type Ort = typeof wasmBundle;

/** One onnxruntime-web bundle and the execution provider to run on it, its files served by this app (never downloaded at run time). */
export interface OrtRuntime {
  ort: Ort;
  executionProviders: string[];
  /** Points the bundle at its wasm files and sets its threads, before the first session. */
  configure(ort: Ort): void;
}

/** The app's engine: the plain wasm bundle (SIMD; threads when the page is cross-origin isolated). */
export const WASM_RUNTIME: OrtRuntime = {
  ort: wasmBundle,
  executionProviders: ['wasm'],
  configure(ort) {
    ort.env.wasm.wasmPaths = { wasm: wasmUrl, mjs: mjsUrl };
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1)) : 1;
  },
};

export interface OrtPass {
  /** Logits [V] of the last position. */
  logits: Float32Array;
  /** routed[layer][token]: the experts the token was routed to, ascending. */
  routed: number[][][];
}

/**
 * The model on onnxruntime-web (the app runs WASM_RUNTIME; the browser benchmark also a WebGPU
 * execution provider): the routed forward graph over the whole sequence, every parameter an input. Experts
 * not fetched are fed as zeros; each pass reports where every token was routed, so the caller
 * can tell whether a token needed one of them.
 */
export class OrtRunner {
  private readonly zeros = new Map<string, Float32Array>();

  private constructor(
    private readonly cfg: ModelConfig,
    private readonly ort: Ort,
    private readonly session: wasmBundle.InferenceSession,
  ) {}

  static async open(cfg: ModelConfig, runtime: OrtRuntime = WASM_RUNTIME): Promise<OrtRunner> {
    const { ort } = runtime;
    runtime.configure(ort);
    const session = await ort.InferenceSession.create(buildRoutedForwardGraph(cfg), { executionProviders: runtime.executionProviders, graphOptimizationLevel: 'all' });
    return new OrtRunner(cfg, ort, session);
  }

  /**
   * One pass over `tokens`, routing within `masks` (per layer; null = all experts) and, for a model
   * with sequence budgets, within `budget` (each layer's set chosen in the graph from the first
   * promptTokens tokens; required for such a model, refused for others).
   */
  async forward(params: ParamMap, tokens: readonly number[], masks: readonly (readonly number[] | null)[], budget: SequenceBudget | null = null): Promise<OrtPass> {
    const { cfg, ort } = this;
    const T = tokens.length;
    const feeds: Record<string, wasmBundle.Tensor> = {};
    for (const { name, shape } of parameterShapes(cfg)) feeds[name] = new ort.Tensor('float32', params[name] ?? this.zerosOf(shape), [...shape]);
    const ids = BigInt64Array.from(tokens, BigInt);
    feeds[ioNames.TOKENS] = new ort.Tensor('int64', ids, [1, T]);
    feeds[ioNames.TARGETS] = new ort.Tensor('int64', new BigInt64Array(T), [1, T]);
    const maskData = new Float32Array(cfg.nLayers * cfg.nExperts).fill(1);
    for (const [l, allowed] of masks.entries()) {
      if (allowed === null) continue;
      maskData.fill(0, l * cfg.nExperts, (l + 1) * cfg.nExperts);
      for (const e of allowed) maskData[l * cfg.nExperts + e] = 1;
    }
    feeds[ioNames.EXPERT_MASKS] = new ort.Tensor('float32', maskData, [cfg.nLayers, cfg.nExperts]);
    if ((cfg.sequenceBudgets !== undefined) !== (budget !== null)) throw new Error(cfg.sequenceBudgets ? 'this model routes within sequence budgets: give the pass its budget' : 'this model has no sequence budgets');
    if (budget) {
      feeds[ioNames.EXPERT_BUDGETS] = new ort.Tensor('float32', Float32Array.of(budget.experts), [1]);
      feeds[ioNames.PROMPT_LENGTHS] = new ort.Tensor('float32', Float32Array.of(budget.promptTokens), [1]);
    }
    const fetches = [ioNames.LOGITS, ...Array.from({ length: cfg.nLayers }, (_, l) => routedName(l))];
    const out = await this.session.run(feeds, fetches);
    const all = out[ioNames.LOGITS]!.data as Float32Array;
    const routed = Array.from({ length: cfg.nLayers }, (_, l) => {
      const r = out[routedName(l)]!.data as Float32Array;
      return Array.from({ length: T }, (_, t) => {
        const experts: number[] = [];
        for (let e = 0; e < cfg.nExperts; e++) if (r[t * cfg.nExperts + e] === 1) experts.push(e);
        return experts;
      });
    });
    return { logits: all.slice((T - 1) * cfg.vocabSize, T * cfg.vocabSize), routed };
  }

  private zerosOf(shape: readonly number[]): Float32Array {
    const key = shape.join('x');
    let z = this.zeros.get(key);
    if (!z) this.zeros.set(key, (z = new Float32Array(elementCount(shape))));
    return z;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

import * as ort from 'onnxruntime-node';
import { ADAMW_DEFAULTS, type AdamWOptions, type AdamWSettings } from '../reference/adamw.ts';
import { type ModelConfig, validateConfig } from '../reference/config.ts';
import { elementCount } from '../reference/params.ts';
import { type Batch, type ExpertMasks, type Feeds, batchFeeds, budgetFeeds, checkParams, maskFeeds, paramFeeds, scalarFeed, scalarOf } from './feeds.ts';
import { buildForwardGraph } from './forward-graph.ts';
import { AUX, CE, GRAD_NORM, LOCALITY, LOGITS, LOSS, LR, STEP, firstMomentName, gradName, nextName, secondMomentName } from './names.ts';
import { buildGradientGraph, buildTrainGraph, trainableSpecs } from './train-graph.ts';

export interface OnnxModelOptions {
  /** Threads ONNX Runtime uses inside one op (default 2). */
  readonly intraOpThreads?: number;
  /**
   * Whether idle intra-op threads spin while waiting for work (ONNX Runtime's own default; here
   * false). On an idle 2-core machine spinning made a training step about 25% faster; with other
   * processes competing for the cores it made it about 40% slower and far more variable.
   */
  readonly allowSpinning?: boolean;
}

export interface ForwardResult {
  /** [B, T, V] */
  readonly logits: Float32Array;
  /** ce + auxLossCoef · aux, as the reference's `loss`. */
  readonly loss: number;
  readonly ce: number;
  readonly aux: number;
  /** The mean per-layer locality loss, for a model with sequence budgets. */
  readonly locality?: number;
}

export interface GradientResult {
  readonly grads: Record<string, Float32Array>;
  readonly loss: number;
  readonly ce: number;
  readonly aux: number;
}

/**
 * Parameters being trained and their AdamW state. trainStep updates `params`, `m` and `v` in place
 * (as the reference's adamwStep does) and increments `step`.
 */
export interface TrainState {
  readonly params: Record<string, Float32Array>;
  /** The trained parameter names, in parameterShapes order; the others stay frozen. */
  readonly trainable: readonly string[];
  /** Leading rows of trained tensors that stay frozen (name → rows), as the reference's createAdamW. */
  readonly frozenRows: Readonly<Record<string, number>>;
  readonly m: Record<string, Float32Array>;
  readonly v: Record<string, Float32Array>;
  readonly adamw: AdamWSettings;
  step: number;
}

export interface TrainStepResult {
  readonly loss: number;
  readonly ce: number;
  readonly aux: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
}

/** A training graph's session and its output buffers, reused across steps. */
interface TrainBuffers {
  readonly session: ort.InferenceSession;
  readonly shapes: ReadonlyMap<string, number[]>;
  /** Preallocated next.* outputs, copied into the state after each step. */
  readonly fetches: Readonly<Record<string, ort.Tensor>>;
}

/**
 * The Blyan model on onnxruntime-node's CPU provider: graphs generated from `cfg` (forward-graph.ts,
 * train-graph.ts) with the parameters as inputs, so one session serves any checkpoint. Sessions are
 * created on first use and kept until dispose().
 */
export class OnnxModel {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly trainBuffers = new WeakMap<TrainState, Promise<TrainBuffers>>();
  private disposed = false;

  private constructor(
    readonly cfg: ModelConfig,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
  ) {}

  static create(cfg: ModelConfig, options: OnnxModelOptions = {}): OnnxModel {
    validateConfig(cfg);
    const spinning = options.allowSpinning ?? false;
    return new OnnxModel(cfg, {
      intraOpNumThreads: options.intraOpThreads ?? 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
    });
  }

  private session(key: string, build: () => Uint8Array): Promise<ort.InferenceSession> {
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = ort.InferenceSession.create(build(), this.sessionOptions);
      this.sessions.set(key, session);
    }
    return session;
  }

  private modelFeeds(params: Readonly<Record<string, unknown>>, batch: Batch, masks: ExpertMasks | undefined): Feeds {
    if (this.disposed) throw new Error('this OnnxModel has been disposed');
    checkParams(params, this.cfg);
    return { ...paramFeeds(params, this.cfg), ...batchFeeds(batch, this.cfg), ...maskFeeds(masks, this.cfg), ...budgetFeeds(batch, this.cfg, masks) };
  }

  /** Logits [B, T, V] and losses for a batch; `masks` restricts each layer's routing (static routing). */
  async forward(params: Readonly<Record<string, unknown>>, batch: Batch, masks?: ExpertMasks): Promise<ForwardResult> {
    const feeds = this.modelFeeds(params, batch, masks);
    const session = await this.session('forward', () => buildForwardGraph(this.cfg));
    const out = await session.run(feeds);
    const locality = this.cfg.sequenceBudgets ? { locality: scalarOf(out, LOCALITY) } : {};
    return { logits: out[LOGITS]!.data as Float32Array, loss: scalarOf(out, LOSS), ce: scalarOf(out, CE), aux: scalarOf(out, AUX), ...locality };
  }

  /** Gradients of the loss w.r.t. the `trainable` parameters (default: all), as the reference's `backward`. */
  async gradients(params: Readonly<Record<string, unknown>>, batch: Batch, masks?: ExpertMasks, trainable?: readonly string[]): Promise<GradientResult> {
    const feeds = this.modelFeeds(params, batch, masks);
    const names = trainableSpecs(this.cfg, trainable).map((s) => s.name);
    const session = await this.session(`gradients:${names.join(',')}`, () => buildGradientGraph(this.cfg, names));
    const out = await session.run(feeds);
    const grads: Record<string, Float32Array> = {};
    for (const name of names) grads[name] = out[gradName(name)]!.data as Float32Array;
    return { grads, loss: scalarOf(out, LOSS), ce: scalarOf(out, CE), aux: scalarOf(out, AUX) };
  }

  /**
   * Optimizer state for training `trainable` (default: every parameter) of `params`, which
   * trainStep will update in place. AdamW options other than lr are fixed here; lr is per step.
   */
  createTrainState(
    params: Record<string, Float32Array>,
    options: Omit<AdamWOptions, 'lr'> & { readonly trainable?: readonly string[]; readonly frozenRows?: Readonly<Record<string, number>> } = {},
  ): TrainState {
    checkParams(params, this.cfg);
    const { trainable, frozenRows = {}, ...adamw } = options;
    const names = trainableSpecs(this.cfg, trainable).map((s) => s.name);
    const zeros = (): Record<string, Float32Array> => Object.fromEntries(names.map((name) => [name, new Float32Array(params[name]!.length)]));
    // Sorted by name: the train graph's cache key reads them in this order, so callers' key order does not matter.
    const rows = Object.fromEntries(Object.entries(frozenRows).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { params, trainable: names, frozenRows: rows, m: zeros(), v: zeros(), adamw: { ...ADAMW_DEFAULTS, ...adamw }, step: 0 };
  }

  private async buffersFor(state: TrainState): Promise<TrainBuffers> {
    const key = `train:${state.trainable.join(',')}:${JSON.stringify(state.adamw)}:${JSON.stringify(state.frozenRows)}`;
    const session = await this.session(key, () => buildTrainGraph(this.cfg, state.adamw, state.trainable, state.frozenRows));
    const shapes = new Map(trainableSpecs(this.cfg, state.trainable).map((s) => [s.name, [...s.shape]]));
    const fetches: Record<string, ort.Tensor> = {};
    for (const [name, dims] of shapes) {
      for (const input of [name, firstMomentName(name), secondMomentName(name)]) {
        fetches[nextName(input)] = new ort.Tensor('float32', new Float32Array(elementCount(dims)), dims);
      }
    }
    return { session, shapes, fetches };
  }

  /**
   * One AdamW step on `batch` at learning rate `lr`: the reference's forward, backward and
   * adamwStep. Await each step before the next on the same state (they share output buffers).
   */
  async trainStep(state: TrainState, batch: Batch, lr: number, masks?: ExpertMasks): Promise<TrainStepResult> {
    const feeds = this.modelFeeds(state.params, batch, masks);
    if (!Number.isFinite(lr)) throw new Error(`learning rate must be a finite number, got ${lr}`);
    let pending = this.trainBuffers.get(state);
    if (pending === undefined) {
      pending = this.buffersFor(state);
      this.trainBuffers.set(state, pending);
    }
    const { session, shapes, fetches } = await pending;
    const moments = (name: string): [string, Float32Array][] => [
      [firstMomentName(name), state.m[name]!],
      [secondMomentName(name), state.v[name]!],
    ];
    const updated = (name: string): [string, Float32Array][] => [[name, state.params[name]!], ...moments(name)];
    for (const [name, dims] of shapes) for (const [input, array] of moments(name)) feeds[input] = new ort.Tensor('float32', array, dims);
    feeds[STEP] = scalarFeed(state.step + 1);
    feeds[LR] = scalarFeed(lr);
    const out = await session.run(feeds, { ...fetches, [LOSS]: null, [CE]: null, [AUX]: null, [GRAD_NORM]: null });
    for (const name of shapes.keys()) for (const [input, array] of updated(name)) array.set(fetches[nextName(input)]!.data as Float32Array);
    state.step++;
    return { loss: scalarOf(out, LOSS), ce: scalarOf(out, CE), aux: scalarOf(out, AUX), gradNorm: scalarOf(out, GRAD_NORM) };
  }

  /** Releases the ONNX Runtime sessions; the model cannot run afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s).release()));
  }
}

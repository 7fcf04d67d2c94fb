import { readBuffer, storageBuffer, uniformBuffer, uniformWith } from './buffers.ts';
import { type Kernel, compileAll, encodeCopy, encodeDispatches, grid1d } from './kernel.ts';
import { ADAMW_BYTES, adamwKernel, encodeAdamW, gradNormKernel } from './kernels/adamw.ts';
import { attentionBackwardKVKernel, attentionBackwardQKernel, attentionKernel } from './kernels/attention.ts';
import { dequantKernel } from './kernels/dequant.ts';
import { embeddingKernel } from './kernels/embedding.ts';
import { expertBackwardActKernel, expertBackwardInputKernel, expertDownKernel, expertGrid, expertUpKernel, expertWeightGradKernel, weightGradGrid } from './kernels/expert.ts';
import { linearBackwardGrid, linearBackwardKernel, linearGrid, linearKernel } from './kernels/linear.ts';
import { crossEntropyKernel, lossKernel } from './kernels/loss.ts';
import { combineBackwardKernel, combineKernel, moeInputGradKernel, routerBackwardKernel } from './kernels/moe.ts';
import { rmsnormBackwardKernel, rmsnormKernel } from './kernels/rmsnorm.ts';
import { ropeGrid, ropeKernel } from './kernels/rope.ts';
import { NO_MISSING_EXPERT, missingExpert, routeKernel, statsStride } from './kernels/route.ts';
import { type ExpertLayout, type RouteLayout, routeLayout, tilesFor } from './layout.ts';
import { type Counters, Plan, Readback, bytesOf, rowsOf } from './plan.ts';
import { type AdamWOptions, type ModelConfig, headDim } from '@blyan/model';
import type { ModelWeights } from './weights.ts';
import { NO_EXPERT, ROUTE_ALL, type Storage, encodeLayer, encodeStep } from './wgsl.ts';

export interface TrainerOptions {
  /** The expert trained: layers.{layer}.experts.{expert}; it must be loaded. */
  readonly layer: number;
  readonly expert: number;
  /** Sequences per micro-step (B) and tokens per sequence (T ≤ contextLength). */
  readonly batch: number;
  readonly seqLen: number;
  readonly adamw: AdamWOptions;
}

export interface StepLoss {
  /** ce + auxLossCoef · aux, as the reference's forward. */
  readonly loss: number;
  readonly ce: number;
  readonly aux: number;
}

/** An expert's three weight tensors (or their gradients, or deltas), row-major [out, in]. */
export interface ExpertArrays {
  readonly w1: Float32Array;
  readonly w3: Float32Array;
  readonly w2: Float32Array;
}

const ROWS = 4;

/**
 * Trains one expert with the rest of the model frozen, entirely on the GPU. A micro-step runs the
 * training forward over B × T tokens (the trained expert in f32, every other expert from the int8
 * pools), the cross-entropy and load-balancing loss, and the backward pass from the loss down to
 * the expert's layer: logits and final norm, then for each later layer the MoE (experts and
 * router, including the aux loss) and attention, then the expert's own weight gradients, which
 * accumulate across micro-steps. `step` applies AdamW to their mean. One submission and one
 * 16-byte readback (the loss) per micro-step.
 */
export class Trainer {
  private microSteps = 0;
  private steps = 0;
  private readonly owned: GPUBuffer[] = [];
  private readonly n: number;
  private readonly stepUniform: GPUBuffer;
  private readonly tokens: GPUBuffer;
  private readonly targets: GPUBuffer;
  private readonly status: GPUBuffer;
  private readonly result: GPUBuffer;
  private readonly param: GPUBuffer;
  private readonly init: GPUBuffer;
  private readonly grad: GPUBuffer;
  private readonly gradBackup: GPUBuffer;
  private readonly norm: GPUBuffer;
  private readonly adam: GPUBuffer;
  private readonly lossReadback: Readback;
  private readonly normReadback: Readback;
  private readonly pass: Plan;
  private readonly optimizer: Plan;

  private constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    private readonly weights: ModelWeights,
    private readonly counters: Counters,
    private readonly options: TrainerOptions,
    private readonly exclusive: <T>(f: () => Promise<T>) => Promise<T>,
    k: TrainingKernels,
  ) {
    const { dModel: d, nExperts: E, topK: K, dFF: F, vocabSize: V, nLayers: L, nHeads: H } = cfg;
    const { batch: B, seqLen: T, layer: trainedLayer, expert: trainedExpert } = options;
    const n = B * T;
    this.n = n;
    const A = n * K;
    const x = weights.expert;
    const f32 = (label: string, count: number): GPUBuffer => this.own(storageBuffer(device, label, count * 4));
    this.stepUniform = this.own(uniformWith(device, 'train step', encodeStep({ n, start: 0, seqLen: T, lastRow: n - 1, routeMode: ROUTE_ALL })));
    this.adam = this.own(uniformBuffer(device, 'adamw', ADAMW_BYTES));
    this.tokens = f32('train inputs', n);
    this.targets = f32('train targets', n);
    this.status = f32('train status', 1);
    this.result = f32('train loss', 3);
    this.param = f32('trained expert', x.elements);
    this.init = f32('trained expert at start', x.elements);
    this.grad = f32('expert gradient', x.elements);
    this.gradBackup = f32('expert gradient backup', x.elements);
    this.norm = f32('gradient norm', 1);
    const mom1 = f32('adam m', x.elements);
    const mom2 = f32('adam v', x.elements);
    this.lossReadback = new Readback(device, 'loss readback', 4);
    this.normReadback = new Readback(device, 'norm readback', 1);
    const layerInfo = Array.from({ length: L }, (_, l) => {
      const mine = l === trainedLayer ? trainedExpert : NO_EXPERT;
      return this.own(uniformWith(device, `train layer ${l}`, encodeLayer(l, mine, mine, cfg.auxLossCoef / L)));
    });
    const acts = Array.from({ length: L }, (_, l) => ({
      ln1: f32(`ln1 ${l}`, n * d),
      rstd1: f32(`rstd1 ${l}`, n),
      q: f32(`q ${l}`, n * d),
      k: f32(`k ${l}`, n * d),
      v: f32(`v ${l}`, n * d),
      att: f32(`att ${l}`, B * H * T * T),
      atty: f32(`atty ${l}`, n * d),
      x2: f32(`x2 ${l}`, n * d),
      ln2: f32(`ln2 ${l}`, n * d),
      rstd2: f32(`rstd2 ${l}`, n),
      routerLogits: f32(`router logits ${l}`, n * E),
      probs: f32(`probs ${l}`, n * E),
      gates: f32(`gates ${l}`, A),
      route: f32(`route ${l}`, k.route.words),
      act: f32(`act ${l}`, A * F),
      h13: f32(`h13 ${l}`, 2 * A * F),
      y: f32(`y ${l}`, A * d),
    }));
    const xs = Array.from({ length: L + 1 }, (_, l) => f32(`x ${l}`, n * d));
    const stats = f32('train stats', L * statsStride(E));
    const lnf = f32('lnf', n * d);
    const rstdf = f32('rstdf', n);
    const logits = f32('train logits', n * V);
    const losses = f32('losses', n);
    const g = {
      dX: f32('dx', n * d),
      dX2: f32('dx2', n * d),
      dln: f32('dln', n * d),
      datty: f32('datty', n * d),
      dq: f32('dq', n * d),
      dk: f32('dk', n * d),
      dv: f32('dv', n * d),
      ds: f32('ds', B * H * T * T),
      dy: f32('dy', A * d),
      dgates: f32('dgates', A),
      dh13: f32('dh13', 2 * A * F),
      dxg: f32('dxg', A * d),
      dRouter: f32('drouter logits', n * E),
    };
    const step = this.stepUniform;
    this.pass = new Plan(device);
    this.optimizer = new Plan(device);
    const p = this.pass;
    const lin = (out: number) => () => linearGrid({ outFeatures: out, rowsPerThread: ROWS }, n);
    const back = (inF: number) => () => linearBackwardGrid({ inFeatures: inF, rowsPerThread: ROWS }, n);
    const rows = () => [n, 1, 1] as const;
    const tiles = tilesFor(k.route, n);
    /** Bytes of the tables a micro-step gathers rows from: n embedding rows, T rotary positions. */
    const embedRows = { embed: rowsOf(d * (weights.matrices === 'f16' ? 2 : 4)) };
    const ropeRows = { table: bytesOf(T * 4 * headDim(cfg)) };
    p.add(k.embed, { step, tokens: this.tokens, embed: weights.embed, out: xs[0]! }, () => grid1d(n * d), embedRows);
    for (const [l, w] of weights.layers.entries()) {
      const a = acts[l]!;
      const layer = layerInfo[l]!;
      p.add(k.rms, { step, x: xs[l]!, weight: w.attnNorm, out: a.ln1, rstd: a.rstd1 }, rows);
      p.add(k.linear, { step, x: a.ln1, w: w.wq, y: a.q }, lin(d));
      p.add(k.linear, { step, x: a.ln1, w: w.wk, y: a.k }, lin(d));
      p.add(k.linear, { step, x: a.ln1, w: w.wv, y: a.v }, lin(d));
      p.add(k.rope, { step, table: weights.rope, q: a.q, k: a.k }, () => ropeGrid(n, d), ropeRows);
      p.add(k.attention, { step, q: a.q, k: a.k, v: a.v, out: a.atty, att: a.att }, () => [n, H, 1]);
      p.add(k.linearResidual, { step, x: a.atty, w: w.wo, y: a.x2, res: xs[l]! }, lin(d));
      p.add(k.rms, { step, x: a.x2, weight: w.ffnNorm, out: a.ln2, rstd: a.rstd2 }, rows);
      p.add(k.router, { step, x: a.ln2, w: w.router, y: a.routerLogits }, lin(E));
      p.add(k.routeKernel, { step, layer, logits: a.routerLogits, probs: a.probs, gates: a.gates, route: a.route, table: w.table, stats, status: this.status }, () => [1, 1, 1]);
      const pooled = { layer, route: a.route, table: w.table, w: w.pool, w_scales: w.scales };
      p.add(k.upI8, { ...pooled, x: a.ln2, act: a.act, h13: a.h13 }, () => expertGrid(F, tiles));
      p.add(k.downI8, { ...pooled, act: a.act, y: a.y }, () => expertGrid(d, tiles));
      if (l === trainedLayer) {
        const own = { layer, route: a.route, w: this.param };
        p.add(k.upF32, { ...own, x: a.ln2, act: a.act, h13: a.h13 }, () => expertGrid(F, tiles));
        p.add(k.downF32, { ...own, act: a.act, y: a.y }, () => expertGrid(d, tiles));
      }
      p.add(k.combine, { step, route: a.route, gates: a.gates, y: a.y, x2: a.x2, out: xs[l + 1]! }, () => grid1d(n * d));
    }
    p.add(k.rms, { step, x: xs[L]!, weight: weights.finalNorm, out: lnf, rstd: rstdf }, rows);
    p.add(k.logits, { step, x: lnf, w: weights.embed, y: logits }, lin(V));
    p.add(k.crossEntropy, { step, targets: this.targets, logits, losses }, rows);
    p.add(k.loss, { step, losses, stats, result: this.result }, () => [1, 1, 1]);
    p.add(k.logitsBackward, { step, g0: logits, w0: weights.embed, dx: g.dln }, back(d));
    p.add(k.rmsBackward, { dout: g.dln, x: xs[L]!, weight: weights.finalNorm, rstd: rstdf, dx: g.dX }, rows);
    for (let l = L - 1; l >= trainedLayer; l--) {
      const a = acts[l]!;
      const w = weights.layers[l]!;
      const layer = layerInfo[l]!;
      p.add(k.combineBackward, { step, route: a.route, gates: a.gates, dout: g.dX, y: a.y, dy: g.dy, dgates: g.dgates }, () => [A, 1, 1]);
      if (l === trainedLayer) {
        p.add(k.actBackwardF32, { layer, route: a.route, w: this.param, dy: g.dy, h13: a.h13, dh13: g.dh13 }, () => expertGrid(F, tiles));
        p.add(k.gradW2, { layer, route: a.route, g: g.dy, x: a.act, dw: this.grad }, () => weightGradGrid(d, F));
        p.add(k.gradW1, { layer, route: a.route, g: g.dh13, x: a.ln2, dw: this.grad }, () => weightGradGrid(F, d));
        p.add(k.gradW3, { layer, route: a.route, g: g.dh13, x: a.ln2, dw: this.grad }, () => weightGradGrid(F, d));
        break;
      }
      const pooled = { layer, route: a.route, table: w.table, w: w.pool, w_scales: w.scales };
      p.add(k.actBackwardI8, { ...pooled, dy: g.dy, h13: a.h13, dh13: g.dh13 }, () => expertGrid(F, tiles));
      p.add(k.inputBackwardI8, { ...pooled, dh13: g.dh13, dx: g.dxg }, () => expertGrid(d, tiles));
      p.add(k.routerBackward, { step, layer, route: a.route, probs: a.probs, dgates: g.dgates, stats, dlogits: g.dRouter }, () => [Math.ceil(n / 64), 1, 1]);
      p.add(k.moeInputGrad, { step, route: a.route, dxg: g.dxg, dlogits: g.dRouter, router: w.router, dx: g.dln }, () => grid1d(n * d));
      p.add(k.rmsBackwardResidual, { dout: g.dln, x: a.x2, weight: w.ffnNorm, rstd: a.rstd2, dx: g.dX2, base: g.dX }, rows);
      p.add(k.linearBackward1, { step, g0: g.dX2, w0: w.wo, dx: g.datty }, back(d));
      p.add(k.attentionBackwardQ, { step, dout: g.datty, k: a.k, v: a.v, att: a.att, ds: g.ds, dq: g.dq }, () => [n, H, 1]);
      p.add(k.attentionBackwardKV, { step, dout: g.datty, q: a.q, att: a.att, ds: g.ds, dk: g.dk, dv: g.dv }, () => grid1d(n * d));
      p.add(k.ropeBackward, { step, table: weights.rope, q: g.dq, k: g.dk }, () => ropeGrid(n, d), ropeRows);
      p.add(k.linearBackward3, { step, g0: g.dq, w0: w.wq, g1: g.dk, w1: w.wk, g2: g.dv, w2: w.wv, dx: g.dln }, back(d));
      p.add(k.rmsBackwardResidual, { dout: g.dln, x: xs[l]!, weight: w.attnNorm, rstd: a.rstd1, dx: g.dX, base: g.dX2 }, rows);
    }
    this.optimizer.add(k.gradNorm, { adam: this.adam, grad: this.grad, norm: this.norm }, () => [1, 1, 1]);
    this.optimizer.add(k.adamw, { adam: this.adam, grad: this.grad, norm: this.norm, param: this.param, m: mom1, v: mom2 }, () => grid1d(x.elements));
    const dequant = new Plan(device);
    const tw = weights.layers[trainedLayer]!;
    dequant.add(k.dequant, { layer: layerInfo[trainedLayer]!, table: tw.table, pool: tw.pool, scales: tw.scales, param: this.param, init: this.init }, () => grid1d(x.elements));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, dequant.dispatches, 1, 0, this.counters);
    pass.end();
    this.submit(encoder);
  }

  static async create(
    device: GPUDevice,
    cfg: ModelConfig,
    weights: ModelWeights,
    counters: Counters,
    options: TrainerOptions,
    exclusive: <T>(f: () => Promise<T>) => Promise<T>,
  ): Promise<Trainer> {
    const { layer, expert, batch, seqLen } = options;
    if (!Number.isSafeInteger(layer) || layer < 0 || layer >= cfg.nLayers) throw new Error(`trainer: layer ${layer} is not in [0, ${cfg.nLayers})`);
    if (!weights.hasExpert(layer, expert)) throw new Error(`trainer: expert layers.${layer}.experts.${expert} is not loaded`);
    if (!Number.isSafeInteger(batch) || batch < 1 || !Number.isSafeInteger(seqLen) || seqLen < 1) throw new Error(`trainer: batch and seqLen must be positive integers, got ${batch} and ${seqLen}`);
    if (seqLen > cfg.contextLength) throw new Error(`trainer: seqLen ${seqLen} exceeds contextLength ${cfg.contextLength}`);
    if (!(options.adamw.lr >= 0)) throw new Error(`trainer: adamw.lr must be ≥ 0, got ${options.adamw.lr}`);
    const kernels = await trainingKernels(device, cfg, weights, batch * seqLen, seqLen);
    return new Trainer(device, cfg, weights, counters, options, exclusive, kernels);
  }

  /**
   * Forward and backward over one batch of B sequences of T tokens (`inputs`, `targets` [B, T]),
   * adding the gradient of its mean loss to the accumulated one. Returns the loss.
   */
  microStep(inputs: ArrayLike<number>, targets: ArrayLike<number>): Promise<StepLoss> {
    return this.exclusive(async () => {
      const device = this.device;
      device.queue.writeBuffer(this.tokens, 0, this.checkTokens(inputs, 'inputs'));
      device.queue.writeBuffer(this.targets, 0, this.checkTokens(targets, 'targets'));
      device.queue.writeBuffer(this.status, 0, new Uint32Array([NO_MISSING_EXPERT]));
      const encoder = device.createCommandEncoder();
      encodeCopy(encoder, this.grad, 0, this.gradBackup, 0, this.grad.size, this.counters);
      const pass = encoder.beginComputePass();
      encodeDispatches(pass, this.pass.dispatches, this.n, 0, this.counters);
      pass.end();
      this.lossReadback.copy(encoder, this.result, 0, 0, 3);
      this.lossReadback.copy(encoder, this.status, 0, 3);
      this.submit(encoder);
      const out = await this.lossReadback.read(this.counters);
      const missing = missingExpert(new Uint32Array(out)[3]!, this.cfg.nExperts);
      if (missing) {
        const restore = device.createCommandEncoder();
        encodeCopy(restore, this.gradBackup, 0, this.grad, 0, this.grad.size, this.counters);
        this.submit(restore);
        throw missing;
      }
      this.microSteps++;
      const [ce, aux, loss] = new Float32Array(out);
      return { ce: ce!, aux: aux!, loss: loss! };
    });
  }

  /** AdamW on the mean of the gradients accumulated since the last step; returns their norm. */
  step(): Promise<{ gradNorm: number }> {
    return this.exclusive(async () => {
      if (this.microSteps === 0) throw new Error('trainer: step() needs at least one microStep since the last step');
      const { beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weightDecay = 0.1, maxGradNorm = 1, lr } = this.options.adamw;
      this.steps++;
      const c1 = 1 - Math.pow(beta1, this.steps);
      const c2 = 1 - Math.pow(beta2, this.steps);
      this.device.queue.writeBuffer(this.adam, 0, encodeAdamW({ lr, beta1, beta2, eps, weightDecay, maxGradNorm, c1, c2, gradScale: 1 / this.microSteps }));
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      encodeDispatches(pass, this.optimizer.dispatches, 1, 0, this.counters);
      pass.end();
      encoder.clearBuffer(this.grad);
      this.normReadback.copy(encoder, this.norm, 0, 0);
      this.submit(encoder);
      this.microSteps = 0;
      return { gradNorm: new Float32Array(await this.normReadback.read(this.counters))[0]! };
    });
  }

  /** The gradients accumulated since the last step (summed over micro-steps). */
  gradients(): Promise<ExpertArrays> {
    return this.exclusive(async () => this.split(await this.read(this.grad)));
  }

  /** The expert's current f32 weights. */
  current(): Promise<ExpertArrays> {
    return this.exclusive(async () => this.split(await this.read(this.param)));
  }

  /** Trained minus initial (dequantized) weights: what a contributor publishes. */
  exportDelta(): Promise<ExpertArrays> {
    return this.exclusive(async () => {
      const now = await this.read(this.param);
      const start = await this.read(this.init);
      for (let i = 0; i < now.length; i++) now[i] = now[i]! - start[i]!;
      return this.split(now);
    });
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.lossReadback.destroy();
    this.normReadback.destroy();
  }

  private async read(buffer: GPUBuffer): Promise<Float32Array> {
    return new Float32Array(await readBuffer(this.device, buffer, 0, this.weights.expert.elements * 4, this.counters));
  }

  private split(all: Float32Array): ExpertArrays {
    const x = this.weights.expert;
    const n = x.d * x.dFF;
    return { w1: all.slice(x.w1, x.w1 + n), w3: all.slice(x.w3, x.w3 + n), w2: all.slice(x.w2, x.w2 + n) };
  }

  private checkTokens(tokens: ArrayLike<number>, what: string): Uint32Array<ArrayBuffer> {
    if (tokens.length !== this.n) throw new Error(`${what} has ${tokens.length} tokens, expected batch × seqLen = ${this.n}`);
    const out = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const id = tokens[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.cfg.vocabSize) throw new Error(`${what}[${i}] = ${id} is not a token id in [0, ${this.cfg.vocabSize})`);
      out[i] = id;
    }
    return out;
  }

  private submit(encoder: GPUCommandEncoder): void {
    this.device.queue.submit([encoder.finish()]);
    this.counters.submissions++;
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }
}

/**
 * Every kernel of a training micro-step and optimizer step for n = B·T rows of T tokens, reading
 * the frozen embedding and attention projections as stored (`s`); activations, gradients, the
 * trained expert and its optimizer state are f32.
 */
function trainingSpecs(cfg: ModelConfig, x: ExpertLayout, route: RouteLayout, n: number, T: number, s: Storage) {
  const { dModel: d, nExperts: E, dFF: F, vocabSize: V } = cfg;
  const i8 = { expert: x, route, weight: 'i8' as const };
  const f32 = { expert: x, route, weight: 'f32' as const };
  const shape = { nHeads: cfg.nHeads, headDim: headDim(cfg), maxKeys: T };
  const lin = (inF: number, outF: number, residual = false, weight = s) => linearKernel({ inFeatures: inF, outFeatures: outF, weight, rowsPerThread: ROWS, rows: 'step', outRowOffset: false, residual });
  const back = (outF: number, inF: number, pairs: number) => linearBackwardKernel({ outFeatures: outF, inFeatures: inF, pairs, rowsPerThread: ROWS, weight: s });
  const A = n * cfg.topK;
  const specs = {
    embed: embeddingKernel(V, d, s),
    rms: rmsnormKernel(d, cfg.normEps, true),
    linear: lin(d, d),
    linearResidual: lin(d, d, true),
    router: lin(d, E, false, 'f32'),
    logits: lin(d, V),
    rope: ropeKernel(cfg.nHeads, headDim(cfg), 1),
    attention: attentionKernel(shape, true),
    routeKernel: routeKernel(route),
    upI8: expertUpKernel(i8, true),
    downI8: expertDownKernel(i8),
    upF32: expertUpKernel(f32, true),
    downF32: expertDownKernel(f32),
    combine: combineKernel(route, d),
    crossEntropy: crossEntropyKernel(V),
    loss: lossKernel(cfg.nLayers, E, cfg.auxLossCoef),
    logitsBackward: back(V, d, 1),
    rmsBackward: rmsnormBackwardKernel(d, false),
    rmsBackwardResidual: rmsnormBackwardKernel(d, true),
    combineBackward: combineBackwardKernel(route, d),
    actBackwardI8: expertBackwardActKernel(i8),
    inputBackwardI8: expertBackwardInputKernel(i8),
    actBackwardF32: expertBackwardActKernel(f32),
    routerBackward: routerBackwardKernel(route),
    moeInputGrad: moeInputGradKernel(route, d),
    linearBackward1: back(d, d, 1),
    linearBackward3: back(d, d, 3),
    attentionBackwardQ: attentionBackwardQKernel(shape),
    attentionBackwardKV: attentionBackwardKVKernel(shape),
    ropeBackward: ropeKernel(cfg.nHeads, headDim(cfg), -1),
    gradW2: expertWeightGradKernel({ route, rows: d, cols: F, gOffset: 0, dwOffset: x.w2, gather: false }),
    gradW1: expertWeightGradKernel({ route, rows: F, cols: d, gOffset: 0, dwOffset: x.w1, gather: true }),
    gradW3: expertWeightGradKernel({ route, rows: F, cols: d, gOffset: A * F, dwOffset: x.w3, gather: true }),
    gradNorm: gradNormKernel(x.elements),
    adamw: adamwKernel(x.elements),
    dequant: dequantKernel(x),
  };
  return specs;
}

type TrainingKernels = { readonly [K in keyof ReturnType<typeof trainingSpecs>]: Kernel } & { readonly route: RouteLayout };

async function trainingKernels(device: GPUDevice, cfg: ModelConfig, weights: ModelWeights, n: number, T: number): Promise<TrainingKernels> {
  const route = routeLayout(cfg.nExperts, cfg.topK, ROWS, n);
  return { ...(await compileAll(device, trainingSpecs(cfg, weights.expert, route, n, T, weights.matrices))), route };
}

import { type FloatArray, type ParamMap, view, zerosLike } from './arrays.ts';
import { type AttentionActs, type BlockRun, attentionHalfForward, blockForward, moeHalfForward } from './block.ts';
import { type MoeActs, routeForward } from './moe.ts';
import { type ModelConfig, headDim, validateConfig } from './config.ts';
import { embeddingForward } from './ops/embedding.ts';
import { matmulForward } from './ops/matmul.ts';
import { rmsnormForward } from './ops/rmsnorm.ts';
import { type RopeTable, ropeTable } from './ops/rope.ts';
import { layerWeights, validateParams } from './params.ts';
import { type AllowedSet, type LayerRouting, type Routing, validateRouting } from './routing.ts';
import { argmax } from './sampling.ts';
import { checkTokens } from './tokens.ts';

/** How one layer routed one token. */
export interface TokenRoute {
  /** The chosen experts, best first. */
  readonly experts: number[];
  /** Their renormalized weights (sum 1). */
  readonly weights: number[];
  /** The router's softmax over all experts. */
  readonly probs: number[];
}

/** A sequence being generated: its KV cache, routing and history. `decodeStep` advances it. */
export interface InferenceState<A extends FloatArray = Float32Array> {
  readonly cfg: ModelConfig;
  /**
   * The parameters, looked up again on every step, so a client may add an expert's tensors after a
   * MissingExpertError and retry the step. Experts may be absent; everything else must be there.
   */
  readonly params: ParamMap<A>;
  readonly rope: RopeTable;
  /** Per layer, rotated keys and values of every position so far, [contextLength, d]. */
  readonly kCache: readonly A[];
  readonly vCache: readonly A[];
  /** Tokens processed so far, i.e. the position of the next token. */
  pos: number;
  /** Per layer, the experts routing may use from now on (null = all of them). */
  readonly allowed: AllowedSet[];
  /** routes[layer][position]: how each layer routed each token so far. */
  readonly routes: TokenRoute[][];
}

/**
 * Runs the prompt through the model and returns the logits [V] of its last position plus the state
 * for decodeStep. Only the experts that routing picks need to be present in `params`; routing to
 * an absent one throws MissingExpertError naming it.
 */
export function prefill<A extends FloatArray>(
  params: ParamMap<A>,
  cfg: ModelConfig,
  tokens: ArrayLike<number>,
  routing: Routing = { mode: 'dynamic' },
): { logits: A; state: InferenceState<A> } {
  const run = new LayeredPrefill(params, cfg, tokens, routing);
  while (run.next < cfg.nLayers) run.advance();
  return run.finish();
}

/**
 * The prefill one layer at a time, for a client that fetches a layer's experts only once it knows
 * which the prompt routes to: `need()` runs the next layer's attention and router (no expert) and
 * names the experts it needs, `advance()` runs that layer's experts (on the attention need() ran),
 * `finish()` gives what prefill gives. `params` is the state's, so experts added meanwhile count.
 */
export class LayeredPrefill<A extends FloatArray = Float32Array> {
  readonly state: InferenceState<A>;
  private readonly ids: Int32Array;
  private readonly routing: Routing;
  private x: A;
  private layer = 0;
  private readonly allowed: AllowedSet[] = [];
  private readonly routes: TokenRoute[][] = [];
  /** The next layer's first half, once need() ran it. */
  private half: AttentionActs<A> | null = null;

  constructor(params: ParamMap<A>, cfg: ModelConfig, tokens: ArrayLike<number>, routing: Routing = { mode: 'dynamic' }) {
    validateConfig(cfg);
    validateParams(params, cfg, 'present');
    validateRouting(routing, cfg);
    if (tokens.length === 0) throw new Error('prefill needs at least one token');
    if (tokens.length > cfg.contextLength) throw new Error(`prompt of ${tokens.length} tokens exceeds contextLength ${cfg.contextLength}`);
    this.ids = checkTokens(tokens, tokens.length, cfg.vocabSize, 'tokens');
    this.routing = routing;
    this.state = newState(params, cfg, routing);
    this.x = embed(params, this.ids, cfg.dModel);
  }

  /** The layer need() and advance() run next (nLayers once every layer ran). */
  get next(): number {
    return this.layer;
  }

  /** The experts the next layer needs: those its tokens route to, or under a static or prompt-chosen set, that whole set. */
  need(): number[] {
    const { cfg } = this.state;
    const w = layerWeights(this.state.params, cfg, this.layer);
    this.half ??= attentionHalfForward(w, this.x, cfg, this.blockRun());
    const { sets, experts } = routeForward(w.moe.router, this.half.ln2, this.ids.length, cfg, this.layer, this.blockRun().routing);
    return sets[0] === null ? [...new Set(experts)].sort((a, b) => a - b) : [...sets[0]!];
  }

  /** Runs the next layer's experts (MissingExpertError if one it routes to is absent). */
  advance(): void {
    const { cfg } = this.state;
    const w = layerWeights(this.state.params, cfg, this.layer);
    const run = this.blockRun();
    const { moe, out } = moeHalfForward(w, this.half ?? attentionHalfForward(w, this.x, cfg, run), cfg, this.layer, run);
    this.half = null;
    this.allowed.push(moe.allowed);
    this.routes.push(tokenRoutes(moe, this.ids.length, cfg));
    this.x = out;
    this.layer++;
  }

  /** After the last layer: the logits [V] of the prompt's last position and the state for decodeStep. */
  finish(): { logits: A; state: InferenceState<A> } {
    if (this.layer < this.state.cfg.nLayers) throw new Error(`the prefill ran ${this.layer} of ${this.state.cfg.nLayers} layers`);
    return { logits: commit(this.state, this.x, this.ids.length, this.allowed, this.routes), state: this.state };
  }

  private blockRun(): BlockRun<A> {
    const { state, layer: l } = this;
    const routing: LayerRouting = this.routing.mode === 'static-prompt' ? { choose: this.routing.expertsPerLayer } : (state.allowed[l] ?? null);
    return { B: 1, T: this.ids.length, start: state.pos, k: state.kCache[l]!, v: state.vCache[l]!, att: null, rope: state.rope, routing };
  }
}

/** Appends one token at position state.pos using the KV cache; returns the logits [V] for the next one. */
export function decodeStep<A extends FloatArray>(state: InferenceState<A>, token: number): A {
  const { cfg } = state;
  validateParams(state.params, cfg, 'present');
  if (state.pos >= cfg.contextLength) throw new Error(`cannot decode past contextLength ${cfg.contextLength}`);
  const ids = checkTokens([token], 1, cfg.vocabSize, 'token');
  return run(state, ids, (l) => (state.allowed[l] ?? null));
}

/**
 * The greedy continuation of `prompt`: `count` tokens, each the argmax of the last logits, plus the
 * prefill's logits, the last step's and the state. What every backend's temperature-0 decoding must
 * reproduce token for token.
 */
export function greedyDecode<A extends FloatArray>(params: ParamMap<A>, cfg: ModelConfig, prompt: ArrayLike<number>, count: number, routing?: Routing) {
  const first = prefill(params, cfg, prompt, routing);
  const tokens: number[] = [];
  let logits = first.logits;
  for (let i = 0; i < count; i++) {
    const t = argmax(logits);
    tokens.push(t);
    if (i + 1 < count) logits = decodeStep(first.state, t);
  }
  return { tokens, prefillLogits: first.logits, lastLogits: logits, state: first.state };
}

/** Per layer, the experts any token so far was routed to, ascending: what a client must have loaded. */
export function expertsUsed(state: InferenceState<FloatArray>): number[][] {
  return state.routes.map((layer) => [...new Set(layer.flatMap((r) => r.experts))].sort((a, b) => a - b));
}

function newState<A extends FloatArray>(params: ParamMap<A>, cfg: ModelConfig, routing: Routing): InferenceState<A> {
  const L = cfg.nLayers;
  const cache = (): A[] => Array.from({ length: L }, () => zerosLike(params.embed!, cfg.contextLength * cfg.dModel));
  return {
    cfg,
    params,
    rope: ropeTable(cfg.contextLength, headDim(cfg), cfg.ropeTheta),
    kCache: cache(),
    vCache: cache(),
    pos: 0,
    allowed: routing.mode === 'static' ? [...routing.allowed] : Array.from({ length: L }, () => null),
    routes: Array.from({ length: L }, () => []),
  };
}

function embed<A extends FloatArray>(params: ParamMap<A>, ids: Int32Array, d: number): A {
  const x = zerosLike(params.embed!, ids.length * d);
  embeddingForward(x, ids, params.embed!, ids.length, d);
  return x;
}

/** How each of the n rows was routed, from a layer's MoE activations. */
function tokenRoutes(moe: MoeActs<FloatArray>, n: number, cfg: ModelConfig): TokenRoute[] {
  const [E, K] = [cfg.nExperts, cfg.topK];
  return Array.from({ length: n }, (_, t) => ({
    experts: Array.from(moe.experts.subarray(t * K, (t + 1) * K)),
    weights: Array.from(moe.weights.subarray(t * K, (t + 1) * K)),
    probs: Array.from(moe.probs.subarray(t * E, (t + 1) * E)),
  }));
}

/** Records the n rows' routing in the state, advances its position and returns the logits [V] of the last row of x. */
function commit<A extends FloatArray>(state: InferenceState<A>, x: A, n: number, allowed: readonly AllowedSet[], routes: readonly TokenRoute[][]): A {
  const { cfg, params } = state;
  const d = cfg.dModel;
  for (const [l, set] of allowed.entries()) state.allowed[l] = set;
  for (const [l, layerRoutes] of routes.entries()) state.routes[l]!.push(...layerRoutes);
  state.pos += n;
  const last = view(x, (n - 1) * d, n * d);
  const h = zerosLike(x, d);
  rmsnormForward(h, zerosLike(x, 1), last, params.final_norm!, 1, d, cfg.normEps);
  const logits = zerosLike(x, cfg.vocabSize);
  matmulForward(logits, h, params.embed!, 1, d, cfg.vocabSize);
  return logits;
}

function run<A extends FloatArray>(state: InferenceState<A>, ids: Int32Array, routingFor: (layer: number) => LayerRouting): A {
  const { cfg, params } = state;
  const n = ids.length;
  let x = embed(params, ids, cfg.dModel);
  const allowed: AllowedSet[] = [];
  const routes: TokenRoute[][] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const blockRun = { B: 1, T: n, start: state.pos, k: state.kCache[l]!, v: state.vCache[l]!, att: null, rope: state.rope, routing: routingFor(l) };
    const { moe, out } = blockForward(layerWeights(params, cfg, l), x, cfg, l, blockRun);
    allowed.push(moe.allowed);
    routes.push(tokenRoutes(moe, n, cfg));
    x = out;
  }
  return commit(state, x, n, allowed, routes);
}

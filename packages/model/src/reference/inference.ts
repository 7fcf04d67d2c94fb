import { type FloatArray, type ParamMap, view, zerosLike } from './arrays.ts';
import { blockForward } from './block.ts';
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
  validateConfig(cfg);
  validateParams(params, cfg, 'present');
  validateRouting(routing, cfg);
  if (tokens.length === 0) throw new Error('prefill needs at least one token');
  if (tokens.length > cfg.contextLength) throw new Error(`prompt of ${tokens.length} tokens exceeds contextLength ${cfg.contextLength}`);
  const ids = checkTokens(tokens, tokens.length, cfg.vocabSize, 'tokens');
  const embed = params.embed!;
  const L = cfg.nLayers;
  const cache = (): A[] => Array.from({ length: L }, () => zerosLike(embed, cfg.contextLength * cfg.dModel));
  const state: InferenceState<A> = {
    cfg,
    params,
    rope: ropeTable(cfg.contextLength, headDim(cfg), cfg.ropeTheta),
    kCache: cache(),
    vCache: cache(),
    pos: 0,
    allowed: routing.mode === 'static' ? [...routing.allowed] : Array.from({ length: L }, () => null),
    routes: Array.from({ length: L }, () => []),
  };
  const layerRouting = (l: number): LayerRouting => (routing.mode === 'static-prompt' ? { choose: routing.expertsPerLayer } : (state.allowed[l] ?? null));
  return { logits: run(state, ids, layerRouting), state };
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

function run<A extends FloatArray>(state: InferenceState<A>, ids: Int32Array, routingFor: (layer: number) => LayerRouting): A {
  const { cfg, params } = state;
  const n = ids.length;
  const d = cfg.dModel;
  const E = cfg.nExperts;
  const K = cfg.topK;
  const embed = params.embed!;
  let x = zerosLike(embed, n * d);
  embeddingForward(x, ids, embed, n, d);
  const allowed: AllowedSet[] = [];
  const routes: TokenRoute[][] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const blockRun = { B: 1, T: n, start: state.pos, k: state.kCache[l]!, v: state.vCache[l]!, att: null, rope: state.rope, routing: routingFor(l) };
    const { moe, out } = blockForward(layerWeights(params, cfg, l), x, cfg, l, blockRun);
    allowed.push(moe.allowed);
    routes.push(
      Array.from({ length: n }, (_, t) => ({
        experts: Array.from(moe.experts.subarray(t * K, (t + 1) * K)),
        weights: Array.from(moe.weights.subarray(t * K, (t + 1) * K)),
        probs: Array.from(moe.probs.subarray(t * E, (t + 1) * E)),
      })),
    );
    x = out;
  }
  for (const [l, set] of allowed.entries()) state.allowed[l] = set;
  for (const [l, layerRoutes] of routes.entries()) state.routes[l]!.push(...layerRoutes);
  state.pos += n;
  const last = view(x, (n - 1) * d, n * d);
  const h = zerosLike(x, d);
  rmsnormForward(h, zerosLike(x, 1), last, params.final_norm!, 1, d, cfg.normEps);
  const logits = zerosLike(x, cfg.vocabSize);
  matmulForward(logits, h, embed, 1, d, cfg.vocabSize);
  return logits;
}

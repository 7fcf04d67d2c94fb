import { type ModelConfig, routerBase } from '../../reference/config.ts';
import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';
import type { Sequence } from './sequence.ts';

/** The routing of n tokens in one layer; [n, E] unless noted. */
export interface Routing {
  readonly probs: Value;
  /** 1 where the expert is one of the token's top-K, else 0. */
  readonly chosen: Value;
  /** The renormalized top-K probabilities at the chosen experts, 0 elsewhere. */
  readonly weights: Value;
  /** Sum of the chosen probabilities [n, 1]. */
  readonly chosenMass: Value;
  /** Fraction of the n·K assignments per expert [E]. */
  readonly load: Value;
  /** The layer's load-balancing loss E · Σ_e load_e · mean_t probs[t, e] (a scalar). */
  readonly aux: Value;
  /** Models with sequence budgets: each sequence's mean probabilities [B, E] and the layer's locality loss. */
  readonly locality?: { readonly means: Value; readonly loss: Value };
}

/**
 * The router's probabilities [n, E] from its logits: softmax over all experts, or for a grown model
 * (reference ops/router.ts) exp(logit − max) / Z with max and Z over the base experts only.
 */
function routerProbs(g: Graph, logits: Value, cfg: ModelConfig): Value {
  const base = routerBase(cfg);
  if (base === cfg.nExperts) return g.softmax(logits, 1);
  const first = (a: Value): Value => g.slice(a, g.ints([0]), g.ints([base]), [1]);
  const ex = g.exp(g.sub(logits, g.reduceMax(first(logits), [1], true)));
  return g.div(ex, g.reduceSum(first(ex), [1], true));
}

/**
 * Router softmax over all E experts (routerProbs), then top-K among the allowed ones (`allowedFor(probs)`: bool
 * [E] for every token, or [n, E] per token), ties to the lower index, with the chosen probabilities
 * renormalized to sum to 1. With sequence budgets also the locality loss (reference ops/locality.ts):
 * the mean over sequences of the entropy of each sequence's mean probabilities.
 */
export function routerForward(g: Graph, h: Value, router: Value, allowedFor: (probs: Value) => Value, seq: Sequence, cfg: ModelConfig): Routing {
  const { nExperts: E, topK: K } = cfg;
  const probs = routerProbs(g, g.linear(h, router), cfg);
  const [top, experts] = g.topK(g.where(allowedFor(probs), probs, g.scalar(-Infinity)), K);
  const chosenMass = g.reduceSum(top, [1], true);
  const slots = g.oneHot(experts, E);
  const chosen = g.reduceSum(slots, [1], false);
  const weights = g.reduceSum(g.mul(slots, g.unsqueeze(g.div(top, chosenMass), [2])), [1], false);
  const load = g.div(g.reduceSum(chosen, [0], false), g.mul(seq.n, g.scalar(K)));
  const aux = g.mul(g.reduceSum(g.mul(load, g.reduceMean(probs, [0], false)), [0], false), g.scalar(E));
  const routing = { probs, chosen, weights, chosenMass, load, aux };
  if (cfg.sequenceBudgets === undefined) return routing;
  const means = g.reduceMean(g.reshape(probs, g.concat([g.ints([-1]), seq.T, g.ints([E])], 0)), [1], false);
  const loss = g.neg(g.reduceMean(g.reduceSum(g.mul(means, g.log(means)), [1], false), [0], false));
  return { ...routing, locality: { means, loss } };
}

/**
 * Gradient w.r.t. the router logits [n, E] from the gradient of the routing weights (read at the
 * chosen experts only), of the aux loss (`daux`, a constant: the choice carries no gradient) and of
 * the locality loss (`dlocality`; B sequences of T tokens):
 *   dprobs = chosen ⊙ (dweights − Σ_k dweights_k weights_k) / chosenMass + daux · E · load / n
 *            − dlocality · (log means_b + 1) / n   (for the tokens of sequence b),
 *   dlogits = probs ⊙ (dprobs − Σ_e probs_e dprobs_e), the sum subtracted at the base experts only
 *   (all of them unless the model was grown).
 */
export function routerBackward(g: Graph, dweights: Value, r: Routing, daux: number, dlocality: number, seq: Sequence, cfg: ModelConfig): Value {
  const renorm = g.sub(dweights, g.reduceSum(g.mul(dweights, r.weights), [1], true));
  const fromAux = g.div(g.mul(r.load, g.scalar(daux * cfg.nExperts)), seq.n);
  let dprobs = g.add(g.div(g.mul(r.chosen, renorm), r.chosenMass), fromAux);
  if (r.locality !== undefined) {
    const perSequence = g.div(g.mul(g.add(g.log(r.locality.means), g.scalar(1)), g.scalar(-dlocality)), seq.n);
    const perToken = g.expand(g.unsqueeze(perSequence, [1]), g.concat([g.ints([1]), seq.T, g.ints([cfg.nExperts])], 0));
    dprobs = g.add(dprobs, g.reshape(perToken, [-1, cfg.nExperts]));
  }
  const pdp = g.reduceSum(g.mul(r.probs, dprobs), [1], true);
  const base = routerBase(cfg);
  if (base === cfg.nExperts) return g.mul(r.probs, g.sub(dprobs, pdp));
  const inZ = g.initializer('float32', Array.from({ length: cfg.nExperts }, (_, e) => Number(e < base)), [cfg.nExperts]);
  return g.mul(r.probs, g.sub(dprobs, g.mul(pdp, inZ)));
}

import type { Value } from '../graph-builder.ts';
import type { Graph } from '../graph-ops.ts';
import type { Sequence } from './sequence.ts';

/** Mean softmax cross-entropy of logits [n, V] against targets [n]; keeps log-probabilities for the backward pass. */
export function crossEntropyForward(g: Graph, logits: Value, targets: Value): { ce: Value; logp: Value } {
  const logp = g.logSoftmax(logits, 1);
  const picked = g.gatherElements(logp, g.unsqueeze(targets, [1]), 1);
  return { ce: g.neg(g.reduceMean(picked, [0, 1], false)), logp };
}

/** dlogits = (softmax(logits) − onehot(targets)) / n, the one-hot subtracted in place. */
export function crossEntropyBackward(g: Graph, logp: Value, targets: Value, seq: Sequence): Value {
  const at = g.unsqueeze(targets, [1]);
  return g.div(g.scatterElementsAdd(g.exp(logp), at, g.filled(g.shape(at), -1), 1), seq.n);
}

import type { Rng } from './rng.ts';

export interface SamplingOptions {
  /** Softmax temperature; 0 means greedy (argmax). Default 1. */
  readonly temperature?: number;
  /** Sample only among the k most likely tokens; 0 or absent = no limit. */
  readonly topK?: number;
  /** Sample only among the smallest set of most likely tokens whose probability reaches p; 1 or absent = no limit. */
  readonly topP?: number;
}

/** Index of the largest logit, ties going to the lower index. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * Draws a token from softmax(logits / temperature) restricted by top-k, then top-p (both measured
 * on the tempered distribution, tokens ordered by logit with ties to the lower index), using one
 * draw of `rng`; the same logits, options and rng state always give the same token.
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng): number {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw new Error(`temperature must be a finite number ≥ 0, got ${temperature}`);
  if (!Number.isSafeInteger(topK) || topK < 0) throw new Error(`topK must be an integer ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  if (logits.length === 0) throw new Error('cannot sample from empty logits');
  if (temperature === 0) return argmax(logits);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  let keep = topK > 0 ? Math.min(topK, order.length) : order.length;
  const max = logits[order[0]!]!;
  const p = new Float64Array(keep);
  let sum = 0;
  for (let i = 0; i < keep; i++) {
    p[i] = Math.exp((logits[order[i]!]! - max) / temperature);
    sum += p[i]!;
  }
  if (topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < keep; i++) {
      cumulative += p[i]! / sum;
      if (cumulative >= topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < keep; i++) total += p[i]!;
  const u = rng.next() * total;
  let cumulative = 0;
  for (let i = 0; i < keep; i++) {
    cumulative += p[i]!;
    if (u < cumulative) return order[i]!;
  }
  return order[keep - 1]!;
}

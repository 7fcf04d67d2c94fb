import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** How sure a paired test must be, and by how much the candidate must win. */
export interface PairedTestOptions {
  /** One-sided confidence of the lower bound, in (0.5, 1): 0.99 accepts pure noise in at most 1 % of draws. */
  readonly confidence: number;
  /**
   * The least mean improvement (nats/token) the lower bound must exceed. A copy of the base (or a
   * change too small to matter) then cannot pass on luck alone.
   */
  readonly margin: number;
}

export interface PairedResult {
  /** Windows compared. */
  readonly n: number;
  /** Mean of base − candidate loss per window: the improvement, nats/token. */
  readonly mean: number;
  /** Sample standard deviation of the per-window differences. */
  readonly sd: number;
  /** One-sided lower confidence bound of the mean improvement (Student t, n − 1 degrees of freedom). */
  readonly lower: number;
  readonly confidence: number;
  readonly margin: number;
  /** lower > margin. */
  readonly accepted: boolean;
}

/**
 * The paired test of a candidate against its base on the same windows: `base[i]` and
 * `candidate[i]` are the mean cross-entropies of window i under each model. The candidate is
 * accepted when the one-sided lower confidence bound of the mean per-window improvement exceeds
 * the margin. Pairing removes the windows' own difficulty, which dwarfs the change being judged.
 */
export function pairedTest(base: readonly number[], candidate: readonly number[], o: PairedTestOptions): PairedResult {
  if (base.length !== candidate.length) throw new RangeError(`the paired test needs one candidate loss per base loss, got ${candidate.length} for ${base.length}`);
  if (base.length < 2) throw new RangeError(`the paired test needs at least 2 windows, got ${base.length}`);
  if (!(o.confidence > 0.5 && o.confidence < 1)) throw new RangeError(`the confidence must be in (0.5, 1), got ${o.confidence}`);
  const n = base.length;
  const diffs = base.map((b, i) => b - candidate[i]!);
  if (!diffs.every(Number.isFinite)) throw new RangeError('the paired test needs finite losses');
  const mean = diffs.reduce((s, d) => s + d, 0) / n;
  const sd = Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1));
  const lower = mean - tQuantile(o.confidence, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, lower, confidence: o.confidence, margin: o.margin, accepted: lower > o.margin };
}

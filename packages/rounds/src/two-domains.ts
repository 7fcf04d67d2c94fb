import { type PairedResult, type PairedTestOptions, pairedTest } from './paired.ts';

/** How a change to a model trained for a new domain is judged on both domains. */
export interface TwoDomainOptions {
  /** The paired test on the new domain: the candidate must beat its base there. */
  readonly test: PairedTestOptions;
  /** One-sided confidence of the non-inferiority bound on the old domain, in (0.5, 1). */
  readonly confidence: number;
  /** How much worse (nats/token, ≥ 0) than the reference the candidate may be on the old domain, at `confidence`. */
  readonly bound: number;
}

/** Per-window losses of a base (or reference) model and a candidate on the same windows. */
export interface PairedLosses {
  readonly base: readonly number[];
  readonly candidate: readonly number[];
}

export interface TwoDomainVerdict {
  /** The new domain: base against candidate. */
  readonly improves: PairedResult;
  /** The old domain: reference against candidate, accepted when the lower bound of the improvement is above −bound. */
  readonly keeps: PairedResult;
  readonly accepted: boolean;
}

/**
 * A budget in bits per byte as nats per token, at the old domain's bytes per token: what
 * `bpb` × ln 2 × bytes / tokens comes to on a text of `bytes` UTF-8 bytes that tokenizes to `tokens` targets.
 */
export function bpbBudget(bpb: number, bytes: number, tokens: number): number {
  if (!(bpb >= 0 && bytes > 0 && tokens > 0)) throw new RangeError(`a budget needs bpb ≥ 0, bytes > 0 and tokens > 0, got ${bpb}, ${bytes}, ${tokens}`);
  return (bpb * Math.LN2 * bytes) / tokens;
}

/**
 * The verdict on a change trained for a new domain: accepted when the paired test finds it better
 * than its base on the new domain's held-out windows AND the non-inferiority test finds it no worse
 * than the reference (the genesis model) by more than `bound` on the old domain's held-out windows,
 * i.e. the `confidence` lower bound of its improvement there is above −bound.
 */
export function twoDomainVerdict(fresh: PairedLosses, old: PairedLosses, o: TwoDomainOptions): TwoDomainVerdict {
  if (!(o.bound >= 0)) throw new RangeError(`the old domain's bound must be ≥ 0 nats/token, got ${o.bound}`);
  const improves = pairedTest(fresh.base, fresh.candidate, o.test);
  const keeps = pairedTest(old.base, old.candidate, { confidence: o.confidence, margin: -o.bound });
  return { improves, keeps, accepted: improves.accepted && keeps.accepted };
}

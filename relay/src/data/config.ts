import { DEFAULT_LIMITS, DEFAULT_TIERS, type PrefilterLimits, type TierThresholds } from '@blyan/data';
import { HIDDEN_FRACTION } from './hidden.ts';

/** The data hub's bounds and gates (docs/ARCHITECTURE.md, "Data hub"). */
export interface DataConfig {
  /** Largest upload body. L0 runs on the request, so this also bounds the time one upload holds the event loop. */
  readonly maxUploadBytes: number;
  /** Uploads per account per window. */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  /** Uploads one account may have being scored, reviewed or appended at once. */
  readonly maxOpen: number;
  readonly limits: PrefilterLimits;
  readonly tiers: TierThresholds;
  readonly hiddenFraction: number;
  /** Documents drawn for L2 review per upload (fewer if it has fewer public ones). */
  readonly sampleSize: number;
  /** Agreeing votes that settle a sampled document. */
  readonly votesToSettle: number;
  /** An upload whose settled sample is dropped in more than this share is refused. */
  readonly maxDropShare: number;
  /** How far a vote's `at` may be from the relay's clock. */
  readonly voteSkewMs: number;
  /** Credit units for a vote that agreed with how its document settled. */
  readonly creditPerVote: number;
  /** Windows per forward pass when L1 scores documents. */
  readonly perBatch: number;
  /** How long a process that claimed an upload holds it; past that (it died or stalls) another may take it. */
  readonly leaseMs: number;
}

export const DEFAULT_DATA_CONFIG: DataConfig = {
  maxUploadBytes: 1 << 20,
  rateLimit: { max: 4, windowMs: 10 * 60_000 },
  maxOpen: 3,
  limits: DEFAULT_LIMITS,
  tiers: DEFAULT_TIERS,
  hiddenFraction: HIDDEN_FRACTION,
  sampleSize: 5,
  votesToSettle: 3,
  maxDropShare: 0.5,
  voteSkewMs: 10 * 60_000,
  creditPerVote: 10,
  perBatch: 8,
  leaseMs: 10 * 60_000,
};

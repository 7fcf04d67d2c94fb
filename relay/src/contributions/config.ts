import type { Doc } from '@blyan/model/data';
import type { SiweExpectations } from '../auth/siwe-login.ts';
import { DEFAULT_DATA_CONFIG, type DataConfig } from '../data/config.ts';
import type { PoolConfig } from '../rewards/pool.ts';

import { DEFAULT_ROUNDS, type RoundsConfig } from '../rounds/config.ts';

/** Sign-in, contribution and reward settings of a relay. */
export interface AccountsConfig {
  readonly siwe: SiweExpectations;
  /** How long a nonce from POST /auth/nonce may be used. */
  readonly nonceTtlMs: number;
  /** Most unused nonces kept; issuing another evicts the oldest. */
  readonly maxNonces: number;
  /**
   * δ: the least drop in mean hidden cross-entropy (nats/token) a contribution must achieve.
   * Production 0.002 (see docs/ARCHITECTURE.md, "Proof of learning").
   */
  readonly minImprovement: number;
  /** Largest delta body in bytes. */
  readonly maxDeltaBytes: number;
  /** Largest ‖Δ‖₂ / ‖W_base‖₂ over the expert. */
  readonly maxRelativeNorm: number;
  /** Largest fraction of the expert's entries one delta may change. */
  readonly maxDensity: number;
  /** Contributions one account may have waiting for (or in) evaluation. */
  readonly maxQueued: number;
  /** How long an assignment stays the account's own (a contribution on it uses it up). */
  readonly assignmentTtlMs: number;
  /** Submissions (contributions, usage reports) per account per window. */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  /** Credit units per nat/token of improvement. */
  readonly creditPerNat: number;
  /** Usage credit: a fixed pool of units per period, split over distinct accounts' use of head blocks. */
  readonly usagePool: PoolConfig;
  /** Largest token count one usage report may claim. */
  readonly maxUsageTokens: number;
  /** Recent usage that makes a slot hot. */
  readonly hotWindowMs: number;
  /** Train-split documents per shard of an assignment. */
  readonly shardDocs: number;
  /** Windows drawn per evaluation, windows per forward pass, ORT threads, and the fraction of hidden passages the keyed pool keeps. */
  readonly eval: { readonly windows: number; readonly perBatch: number; readonly threads: number; readonly poolFraction: number };
  /** Rounds per slot: work units, screening, aggregation and the paired test (relay/src/rounds). */
  readonly rounds: RoundsConfig;
  readonly hiddenDocs: () => readonly Doc[];
  readonly trainDocs: () => readonly Doc[];
  /** The data hub's bounds and gates. */
  readonly data: DataConfig;
  readonly now: () => number;
}

export const PRODUCTION_MIN_IMPROVEMENT = 0.002;

/** Defaults for a relay whose web app is served from `origin` (e.g. `http://localhost:5173`). */
export function defaultAccountsConfig(origin: string, docs: { hidden: () => readonly Doc[]; train: () => readonly Doc[] }): AccountsConfig {
  const url = new URL(origin);
  return {
    siwe: { domain: url.host, uri: url.origin, chainId: 1, maxSessionMs: 24 * 3600_000, maxAgeMs: 10 * 60_000, clockSkewMs: 60_000 },
    nonceTtlMs: 10 * 60_000,
    maxNonces: 10_000,
    minImprovement: PRODUCTION_MIN_IMPROVEMENT,
    maxDeltaBytes: 256 * 1024,
    maxRelativeNorm: 0.1,
    maxDensity: 0.1,
    maxQueued: 2,
    assignmentTtlMs: 3600_000,
    rateLimit: { max: 6, windowMs: 60_000 },
    creditPerNat: 1_000_000,
    usagePool: { units: 10_000, periodMs: 3600_000 },
    maxUsageTokens: 100_000,
    hotWindowMs: 3600_000,
    shardDocs: 8,
    eval: { windows: 32, perBatch: 8, threads: 1, poolFraction: 0.5 },
    rounds: DEFAULT_ROUNDS,
    hiddenDocs: docs.hidden,
    trainDocs: docs.train,
    data: DEFAULT_DATA_CONFIG,
    now: Date.now,
  };
}

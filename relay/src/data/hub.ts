import type { Signer } from '@blyan/block';
import type Database from 'better-sqlite3';
import type { AuthStore } from '../auth/auth-store.ts';
import type { HiddenEvaluator } from '../contributions/hidden-eval.ts';
import type { Ledger } from '../ledger.ts';
import type { Journal } from '../rewards/journal.ts';
import { RateLimiter } from '../server/rate-limit.ts';
import type { IndexStore } from '../store/index-store.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { DataConfig } from './config.ts';
import { type ReviewDeps, voteStatements } from './review.ts';
import { modelScorer } from './scoring.ts';
import { DataStore } from './store.ts';
import { DataWorker } from './worker.ts';

/** The data hub: its rows, its worker, its upload limiter, and what votes are checked with. */
export interface DataHub {
  readonly store: DataStore;
  readonly worker: DataWorker;
  readonly limiter: RateLimiter;
  /** Uploads pass L0 and are stored one at a time, so each is checked against every document stored before it. */
  readonly intake: SerialQueue;
  readonly config: DataConfig;
  /** The store's evaluation secret: it picks each dataset's held-out part. */
  readonly secret: Uint8Array;
  readonly review: ReviewDeps;
}

export function openDataHub(
  db: Database.Database,
  deps: { index: IndexStore; ledger: Ledger; auth: AuthStore; journal: Journal; evaluator: HiddenEvaluator; verdictSigner: Signer | null },
  config: DataConfig,
  secret: Uint8Array,
  now: () => number,
): DataHub {
  const store = new DataStore(db);
  const scorer = modelScorer(deps.evaluator, deps.index, config.perBatch);
  return {
    store,
    worker: new DataWorker({ index: deps.index, ledger: deps.ledger, store, scorer, verdictSigner: deps.verdictSigner, config, now }),
    limiter: new RateLimiter(config.rateLimit.max, config.rateLimit.windowMs, now),
    intake: new SerialQueue(),
    config,
    secret,
    review: { db, votes: voteStatements(db), store, journal: deps.journal, isDelegate: deps.auth.isDelegate, config, now },
  };
}

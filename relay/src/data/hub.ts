import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Signer } from '@blyan/block';
import type { AuthStore } from '../auth/auth-store.ts';
import type { HiddenEvaluator } from '../contributions/hidden-eval.ts';
import type { Ledger } from '../ledger.ts';
import type { KeyLimiter } from '../server/rate-limit.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { DataConfig } from './config.ts';
import type { ReviewDeps } from './review.ts';
import { modelScorer } from './scoring.ts';
import type { DataHubStore } from './store.ts';
import { DataWorker } from './worker.ts';

/** The data hub: its rows, its worker, its upload limiter, and what votes are checked with. */
export interface DataHub {
  readonly store: DataHubStore;
  readonly worker: DataWorker;
  readonly limiter: KeyLimiter;
  readonly config: DataConfig;
  /** The store's evaluation secret: it picks each dataset's held-out part. */
  readonly secret: Uint8Array;
  readonly review: ReviewDeps;
}

/** A process's name in the upload queue: host, process id and a tag of its own (several relays may run in one process). */
export const queueName = (role: string) => `${role}:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** The hub on `store` (DataStore in accounts.sqlite, or PgDataStore shared by replicas), its uploads counted by `limiter`. */
export function openDataHub(
  store: DataHubStore,
  limiter: KeyLimiter,
  deps: { index: IndexStore; ledger: Ledger; auth: AuthStore; evaluator: HiddenEvaluator; verdictSigner: Signer | null },
  config: DataConfig,
  secret: Uint8Array,
  now: () => number,
): DataHub {
  const scorer = modelScorer(deps.evaluator, deps.index, config.perBatch);
  return {
    store,
    worker: new DataWorker({ index: deps.index, ledger: deps.ledger, store, scorer, verdictSigner: deps.verdictSigner, config, now, name: queueName('relay') }),
    limiter,
    config,
    secret,
    review: { store, isDelegate: deps.auth.isDelegate, config, now },
  };
}

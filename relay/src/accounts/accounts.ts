import type { Signer } from '@blyan/block';
import type Database from 'better-sqlite3';
import type { AuthStore } from '../auth/auth-store.ts';
import { Assigner } from '../contributions/assignment.ts';
import type { AccountsConfig } from '../contributions/config.ts';
import { type DataHub, openDataHub } from '../data/hub.ts';
import { HiddenEvaluator } from '../contributions/hidden-eval.ts';
import { ContributionStore } from '../contributions/store.ts';
import { EvaluationWorker } from '../contributions/worker.ts';
import type { Ledger } from '../ledger.ts';
import { Journal } from '../rewards/journal.ts';
import { Rounds } from '../rounds/rounds.ts';
import { RoundStore } from '../rounds/store.ts';
import { RateLimiter } from '../server/rate-limit.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Sign-in, contributions and rewards: everything in accounts.sqlite and what works on it. */
export interface Accounts {
  readonly db: Database.Database;
  readonly config: AccountsConfig;
  readonly auth: AuthStore;
  readonly journal: Journal;
  readonly contributions: ContributionStore;
  readonly evaluator: HiddenEvaluator;
  /** The key this relay signs verdicts with; it judges only while the meta head names it (namedEvaluator). */
  readonly verdictSigner: Signer | null;
  readonly worker: EvaluationWorker;
  readonly assigner: Assigner;
  readonly limiter: RateLimiter;
  /** Datasets: uploads, their gates and reviews (chain D). */
  readonly data: DataHub;

  /** Rounds per slot: many contributors' deltas judged together (relay/src/rounds). */
  readonly rounds: Rounds;
  readonly roundStore: RoundStore;
}

/** Everything but the auth store, which is made first: the block Ledger's rules ask it about delegations. */
export function openAccounts(
  db: Database.Database,
  auth: AuthStore,
  config: AccountsConfig,
  chain: { index: IndexStore; objects: ObjectStore; ledger: Ledger; verdictSigner: Signer | null },
  evalSecret: Uint8Array,
): Accounts {
  const journal = new Journal(db, config.now);
  const contributions = new ContributionStore(db);
  const evaluator = new HiddenEvaluator(chain.index, chain.objects, evalSecret, { ...config.eval, hiddenDocs: config.hiddenDocs });
  const worker = new EvaluationWorker({ db, ...chain, evaluator, store: contributions, journal, config });
  const data = openDataHub(db, { ...chain, auth, journal, evaluator }, config.data, evalSecret, config.now);

  const roundStore = new RoundStore(db);
  const rounds = new Rounds({ db, ...chain, evaluator, journal, store: roundStore, data: data.store, accounts: config, config: config.rounds });
  return {
    db,
    config,
    auth,
    journal,
    contributions,
    evaluator,
    verdictSigner: chain.verdictSigner,
    worker,
    assigner: new Assigner(db),
    limiter: new RateLimiter(config.rateLimit.max, config.rateLimit.windowMs, config.now),
    data,

    rounds,
    roundStore,
  };
}

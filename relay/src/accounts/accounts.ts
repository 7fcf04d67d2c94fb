import type { Address, Hash, Signer } from '@blyan/block';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { AuthStore } from '../auth/auth-store.ts';
import { Assigner, PgAssignments, SqliteAssignments } from '../contributions/assignment.ts';
import type { AccountsConfig } from '../contributions/config.ts';
import { type DataHub, openDataHub } from '../data/hub.ts';
import { PgDataStore } from '../data/pg-store.ts';
import { DataStore } from '../data/store.ts';
import { HiddenEvaluator } from '../contributions/hidden-eval.ts';
import { namedEvaluator } from '../contributions/judging.ts';
import { PgContributionStore } from '../contributions/pg-store.ts';
import { SqliteContributionStore } from '../contributions/sqlite-store.ts';
import type { ContributionStore } from '../contributions/store.ts';
import { EvaluationWorker } from '../contributions/worker.ts';
import type { Ledger } from '../ledger.ts';
import { Journal, type RewardsBook } from '../rewards/journal.ts';
import { PgJournal } from '../rewards/pg-journal.ts';
import { PgUsage, SqliteUsage, type UsageStore } from '../rewards/usage-store.ts';
import { Rounds } from '../rounds/rounds.ts';
import { RoundStore } from '../rounds/store.ts';
import { PgKeyLimiter } from '../server/pg-rate-store.ts';
import { type KeyLimiter, RateLimiter } from '../server/rate-limit.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Who judges queued contributions: this process (the embedded relay), or `blyan worker` processes polling the shared queue. */
export interface Judging {
  /** The evaluator key that judges contributions made under meta block `meta`, or null if none will. */
  evaluator(meta: Hash | null): Promise<Address | null>;
  enqueue(id: number): void;
  resume(): Promise<void>;
  drain(): Promise<void>;
}

/** Sign-in, contributions and rewards: everything in accounts.sqlite (or, replicated, on PostgreSQL) and what works on it. */
export interface Accounts {
  readonly db: Database.Database;
  readonly config: AccountsConfig;
  readonly auth: AuthStore;
  /** The journal in accounts.sqlite: the embedded relay's book, and where rounds (embedded-only) post. */
  readonly journal: Journal;
  /** The rewards book the API reads: `journal`, or the shared journal on PostgreSQL. */
  readonly book: RewardsBook;
  readonly contributions: ContributionStore;
  readonly evaluator: HiddenEvaluator;
  /** The key this relay signs verdicts with; it judges only while the meta head names it (namedEvaluator). */
  readonly verdictSigner: Signer | null;
  readonly judging: Judging;
  readonly assigner: Assigner;
  /** Submissions per account (contributions, usage reports): shared by replicas on PostgreSQL. */
  readonly limiter: KeyLimiter;
  /**
   * True when accounts live on a PostgreSQL database shared with other replicas: rounds, still kept
   * in this replica's accounts.sqlite, are then refused (503 embedded_only) rather than split
   * between replicas.
   */
  readonly replicated: boolean;
  /** Datasets: uploads, their gates and reviews (chain D); on PostgreSQL when replicated. */
  readonly data: DataHub;
  /** Usage reports and the usage pool; on PostgreSQL when replicated. */
  readonly usage: UsageStore;

  /** Rounds per slot: many contributors' deltas judged together (relay/src/rounds). */
  readonly rounds: Rounds;
  readonly roundStore: RoundStore;
}

/**
 * Judged by `blyan worker` processes, which take jobs from the PostgreSQL queue themselves: the
 * relay only queues. The evaluator is the first the meta block names (the key workers hold).
 */
function byWorkers(index: IndexStore): Judging {
  return {
    async evaluator(meta) {
      const h = meta === null ? undefined : (await index.block(meta))?.header;
      return h?.type === 'meta' ? (h.meta.evaluators[0] ?? null) : null;
    },
    enqueue() {},
    async resume() {},
    async drain() {},
  };
}

/** Judged here, one at a time, by the EvaluationWorker, while the meta block names this relay's key. */
function inProcess(worker: EvaluationWorker, index: IndexStore, key: Signer | null): Judging {
  return {
    evaluator: async (meta) => ((await namedEvaluator(index, key, meta))?.address.toLowerCase() as Address | undefined) ?? null,
    enqueue: (id) => worker.enqueue(id),
    resume: () => worker.resume(),
    drain: () => worker.drain(),
  };
}

/**
 * Everything but the auth store, which is made first: the block Ledger's rules ask it about
 * delegations. With `shared` (the replicas' PostgreSQL pool), contributions (judged by `blyan
 * worker` processes), assignments, the data hub, usage and the rewards book the API reads are on
 * PostgreSQL; rounds stay in accounts.sqlite.
 */
export function openAccounts(
  db: Database.Database,
  auth: AuthStore,
  config: AccountsConfig,
  chain: { index: IndexStore; objects: ObjectStore; ledger: Ledger; verdictSigner: Signer | null },
  evalSecret: Uint8Array,
  shared?: pg.Pool,
): Accounts {
  const journal = new Journal(db, config.now);
  const contributions = shared === undefined ? new SqliteContributionStore(db, journal) : new PgContributionStore(shared);
  const evaluator = new HiddenEvaluator(chain.index, chain.objects, evalSecret, { ...config.eval, hiddenDocs: config.hiddenDocs });
  const worker = new EvaluationWorker({ ...chain, evaluator, store: contributions, config });
  const localData = new DataStore(db, journal);
  const { rateLimit } = config.data;
  const data = openDataHub(
    shared === undefined ? localData : new PgDataStore(shared),
    shared === undefined ? new RateLimiter(rateLimit.max, rateLimit.windowMs, config.now) : new PgKeyLimiter(shared, rateLimit.max, rateLimit.windowMs, 'upload'),
    { ...chain, auth, evaluator },
    config.data,
    evalSecret,
    config.now,
  );

  const roundStore = new RoundStore(db);
  /** Rounds are embedded-only: they read the data hub in accounts.sqlite. */
  const rounds = new Rounds({ db, ...chain, evaluator, journal, store: roundStore, data: localData, accounts: config, config: config.rounds });
  return {
    db,
    config,
    auth,
    journal,
    book: shared === undefined ? journal : new PgJournal(shared),
    contributions,
    evaluator,
    verdictSigner: chain.verdictSigner,
    judging: shared === undefined ? inProcess(worker, chain.index, chain.verdictSigner) : byWorkers(chain.index),
    assigner: new Assigner(shared === undefined ? new SqliteAssignments(db) : new PgAssignments(shared)),
    limiter:
      shared === undefined
        ? new RateLimiter(config.rateLimit.max, config.rateLimit.windowMs, config.now)
        : new PgKeyLimiter(shared, config.rateLimit.max, config.rateLimit.windowMs, 'account'),
    replicated: shared !== undefined,
    data,
    usage: shared === undefined ? new SqliteUsage(db, journal) : new PgUsage(shared),

    rounds,
    roundStore,
  };
}

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
import { hostname } from 'node:os';
import { PgRoundStore } from '../rounds/pg-store.ts';
import { SettleOncePerPeriod } from '../rewards/settle-once.ts';
import { PgUsage, SqliteUsage, type UsageStore } from '../rewards/usage-store.ts';
import { Rounds } from '../rounds/rounds.ts';
import { type RoundStore, SqliteRoundStore } from '../rounds/store.ts';
import { PgKeyLimiter } from '../server/pg-rate-store.ts';
import { type KeyLimiter, RateLimiter } from '../server/rate-limit.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Who judges queued contributions and due rounds: this process (the embedded relay), or `blyan worker` processes polling the shared queue. */
export interface Judging {
  /** The evaluator key that judges contributions and rounds made under meta block `meta`, or null if none will. */
  evaluator(meta: Hash | null): Promise<Address | null>;
  enqueue(id: number): void;
  /** Rounds may have become due (a unit was handed out, a delta arrived). */
  roundsDue(): void;
  resume(): Promise<void>;
  drain(): Promise<void>;
}

/** Sign-in, contributions and rewards: everything in accounts.sqlite (or, replicated, on PostgreSQL) and what works on it. */
export interface Accounts {
  readonly db: Database.Database;
  readonly config: AccountsConfig;
  readonly auth: AuthStore;
  /** The journal in accounts.sqlite: the embedded relay's book. */
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
  /** Datasets: uploads, their gates and reviews (chain D); on PostgreSQL when replicated. */
  readonly data: DataHub;
  /** Usage reports and the usage pool; on PostgreSQL when replicated; settled at most once per period by this process. */
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
    roundsDue() {},
    async resume() {},
    async drain() {},
  };
}

/** Judged here, one at a time (the EvaluationWorker, and Rounds' own queue), while the meta block names this relay's key. */
function inProcess(worker: EvaluationWorker, rounds: Rounds, index: IndexStore, key: Signer | null): Judging {
  return {
    evaluator: async (meta) => ((await namedEvaluator(index, key, meta))?.address.toLowerCase() as Address | undefined) ?? null,
    enqueue: (id) => worker.enqueue(id),
    roundsDue: () => rounds.closeDue(),
    async resume() {
      await worker.resume();
      await rounds.resume();
    },
    async drain() {
      await worker.drain();
      await rounds.drain();
    },
  };
}

/** How long a judge's claim on a round holds before another may take it (a judge that died): the embedded relay's; `blyan worker` has --lease. */
export const ROUND_LEASE_MS = 10 * 60_000;

/**
 * Everything but the auth store, which is made first: the block Ledger's rules ask it about
 * delegations. With `shared` (the replicas' PostgreSQL pool), contributions (judged by `blyan
 * worker` processes), assignments, rounds, the data hub (whose documents rounds on a dataset train
 * and are judged on), usage and the rewards book the API reads are on PostgreSQL.
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
  const dataStore = shared === undefined ? new DataStore(db, journal) : new PgDataStore(shared);
  const { rateLimit } = config.data;
  const data = openDataHub(
    dataStore,
    shared === undefined ? new RateLimiter(rateLimit.max, rateLimit.windowMs, config.now) : new PgKeyLimiter(shared, rateLimit.max, rateLimit.windowMs, 'upload'),
    { ...chain, auth, evaluator },
    config.data,
    evalSecret,
    config.now,
  );

  const roundStore: RoundStore = shared === undefined ? new SqliteRoundStore(db, journal) : new PgRoundStore(shared);
  const rounds = new Rounds({ ...chain, evaluator, store: roundStore, data: dataStore, accounts: config, config: config.rounds, judge: { name: `${hostname()}:${process.pid}`, leaseMs: ROUND_LEASE_MS } });
  return {
    db,
    config,
    auth,
    journal,
    book: shared === undefined ? journal : new PgJournal(shared),
    contributions,
    evaluator,
    verdictSigner: chain.verdictSigner,
    judging: shared === undefined ? inProcess(worker, rounds, chain.index, chain.verdictSigner) : byWorkers(chain.index),
    assigner: new Assigner(shared === undefined ? new SqliteAssignments(db) : new PgAssignments(shared)),
    limiter:
      shared === undefined
        ? new RateLimiter(config.rateLimit.max, config.rateLimit.windowMs, config.now)
        : new PgKeyLimiter(shared, config.rateLimit.max, config.rateLimit.windowMs, 'account'),
    data,
    usage: new SettleOncePerPeriod(shared === undefined ? new SqliteUsage(db, journal) : new PgUsage(shared)),

    rounds,
    roundStore,
  };
}

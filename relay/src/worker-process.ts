import type { Signer } from '@blyan/block';
import type { RuleOptions } from '@blyan/chain';
import { PgAuthStore } from './auth/pg-auth-store.ts';
import type { AccountsConfig } from './contributions/config.ts';
import { sharedEvalSecret } from './contributions/eval-secret.ts';
import { HiddenEvaluator } from './contributions/hidden-eval.ts';
import { PgContributionStore } from './contributions/pg-store.ts';
import { type QueueOptions, QueueWorker } from './contributions/queue-worker.ts';
import { EvaluationWorker } from './contributions/worker.ts';
import { modelScorer } from './data/scoring.ts';
import { PgDataStore } from './data/pg-store.ts';
import { DataWorker } from './data/worker.ts';
import { Ledger } from './ledger.ts';
import { slotShapes } from './payload-shape.ts';
import { PgRoundStore } from './rounds/pg-store.ts';
import { Rounds } from './rounds/rounds.ts';
import { openStores } from './store/open.ts';

/** Where the replicas keep what a worker reads and writes: their PostgreSQL database and their bucket. */
export interface SharedBackends {
  readonly database: string;
  readonly objects: string;
}

export interface WorkerProcess {
  readonly queue: QueueWorker;
  close(): Promise<void>;
}

/**
 * An evaluation worker apart from the relays: it holds the evaluator key, reads blocks and payloads
 * from the replicas' database and bucket (one pool of 4 connections, the index's), takes
 * contributions, then dataset uploads, then due rounds from their queues, and appends the accepted
 * ones through a Ledger of its own (the same chain rules and compare-and-swap heads as a relay's),
 * crediting them in the shared journal. It serves nothing. Whatever fails while it opens is closed
 * again. Rounds on a dataset read its documents from the same shared data store the replicas
 * hand out its shards from.
 */
export async function openWorkerProcess(dir: string, backends: SharedBackends, rules: RuleOptions, config: AccountsConfig, signer: Signer, o: Omit<QueueOptions, 'now'>): Promise<WorkerProcess> {
  const { index, objects, pool } = await openStores(dir, 'readwrite', backends, 4);
  let evaluator: HiddenEvaluator | undefined;
  try {
    const shared = pool!;
    const auth = new PgAuthStore(shared, config.now, config.maxNonces);
    const ledger = new Ledger(objects, index, { ...rules, isDelegate: auth.isDelegate, checkPayload: slotShapes(objects) });
    evaluator = new HiddenEvaluator(index, objects, await sharedEvalSecret(shared), { ...config.eval, hiddenDocs: config.hiddenDocs });
    const store = new PgContributionStore(shared);
    const worker = new EvaluationWorker({ index, objects, ledger, verdictSigner: signer, evaluator, store, config });
    const dataStore = new PgDataStore(shared);
    const data = new DataWorker({
      index,
      ledger,
      store: dataStore,
      scorer: modelScorer(evaluator, index, config.data.perBatch),
      verdictSigner: signer,
      config: { ...config.data, leaseMs: o.leaseMs },
      now: config.now,
      name: o.name,
    });
    const rounds = new Rounds({ index, objects, ledger, verdictSigner: signer, evaluator, store: new PgRoundStore(shared), data: dataStore, accounts: config, config: config.rounds, judge: o });
    const opened = evaluator;
    return {
      queue: new QueueWorker(store, worker, data, rounds, { ...o, now: config.now }),
      async close() {
        await ledger.drain();
        await opened.dispose();
        await index.close();
      },
    };
  } catch (e) {
    await evaluator?.dispose();
    await index.close();
    throw e;
  }
}

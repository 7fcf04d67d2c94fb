import type { Signer } from '@blyan/block';
import type { RuleOptions } from '@blyan/chain';
import { accountsPath, openAccountsDb } from './accounts/db.ts';
import { PgAuthStore } from './auth/pg-auth-store.ts';
import type { AccountsConfig } from './contributions/config.ts';
import { sharedEvalSecret } from './contributions/eval-secret.ts';
import { HiddenEvaluator } from './contributions/hidden-eval.ts';
import { PgContributionStore } from './contributions/pg-store.ts';
import { type QueueOptions, QueueWorker } from './contributions/queue-worker.ts';
import { EvaluationWorker } from './contributions/worker.ts';
import { DataStore } from './data/store.ts';
import { Ledger } from './ledger.ts';
import { slotShapes } from './payload-shape.ts';
import { PgRoundStore } from './rounds/pg-store.ts';
import { Rounds } from './rounds/rounds.ts';
import { openStores } from './store/open.ts';
import { openPgPool } from './store/pg-pool.ts';

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
 * from the replicas' database and bucket, takes contributions and due rounds from their queue, and
 * appends the accepted ones through a Ledger of its own (the same chain rules and compare-and-swap
 * heads as a relay's), crediting them in the shared journal. It serves nothing. (Rounds on a
 * dataset need the data hub, which replicas keep embedded-only: its data store here is its own
 * folder's, and replicas open no such round.)
 */
export async function openWorkerProcess(dir: string, backends: SharedBackends, rules: RuleOptions, config: AccountsConfig, signer: Signer, o: Omit<QueueOptions, 'now'>): Promise<WorkerProcess> {
  const { index, objects } = await openStores(dir, 'readwrite', backends);
  try {
    const pool = await openPgPool(backends.database, 4);
    const auth = new PgAuthStore(pool, config.now, config.maxNonces);
    const ledger = new Ledger(objects, index, { ...rules, isDelegate: auth.isDelegate, checkPayload: slotShapes(objects) });
    const evaluator = new HiddenEvaluator(index, objects, await sharedEvalSecret(pool), { ...config.eval, hiddenDocs: config.hiddenDocs });
    const store = new PgContributionStore(pool);
    const worker = new EvaluationWorker({ index, objects, ledger, verdictSigner: signer, evaluator, store, config });
    const db = openAccountsDb(accountsPath(dir));
    const rounds = new Rounds({ index, objects, ledger, verdictSigner: signer, evaluator, store: new PgRoundStore(pool), data: new DataStore(db), accounts: config, config: config.rounds, judge: o });
    return {
      queue: new QueueWorker(store, worker, rounds, { ...o, now: config.now }),
      async close() {
        await ledger.drain();
        db.close();
        await evaluator.dispose();
        await pool.end();
        await index.close();
      },
    };
  } catch (e) {
    await index.close();
    throw e;
  }
}

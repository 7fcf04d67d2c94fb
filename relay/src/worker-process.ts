import type { Signer } from '@blyan/block';
import type { RuleOptions } from '@blyan/chain';
import { PgAuthStore } from './auth/pg-auth-store.ts';
import type { AccountsConfig } from './contributions/config.ts';
import { sharedEvalSecret } from './contributions/eval-secret.ts';
import { HiddenEvaluator } from './contributions/hidden-eval.ts';
import { PgContributionStore } from './contributions/pg-store.ts';
import { type QueueOptions, QueueWorker } from './contributions/queue-worker.ts';
import { EvaluationWorker } from './contributions/worker.ts';
import { Ledger } from './ledger.ts';
import { slotShapes } from './payload-shape.ts';
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
 * from the replicas' database and bucket, takes contributions from their queue, and appends the
 * accepted ones through a Ledger of its own (the same chain rules and compare-and-swap heads as a
 * relay's), crediting them in the shared journal. It serves nothing.
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
    return {
      queue: new QueueWorker(store, worker, { ...o, now: config.now }),
      async close() {
        await ledger.drain();
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

import { setTimeout as sleep } from 'node:timers/promises';
import type { PgContributionStore } from './pg-store.ts';
import type { EvaluationWorker } from './worker.ts';

export interface QueueOptions {
  /** This worker's name in the queue (claimed_by): host and process id. */
  readonly name: string;
  /** How long a claimed job is this worker's alone; past it (the worker died or stalls) any worker may take it again. */
  readonly leaseMs: number;
  /** How long to wait before asking again when no job waits. */
  readonly pollMs: number;
  readonly now: () => number;
}

/**
 * One `blyan worker` process's loop: claim the oldest waiting contribution (PgContributionStore.claim,
 * FOR UPDATE SKIP LOCKED), judge it to its end with the EvaluationWorker, repeat; wait `pollMs`
 * when the queue is empty. Stops between jobs once `signal` aborts.
 */
export class QueueWorker {
  /** Contributions this process has judged to their end. */
  judged = 0;

  constructor(
    private readonly store: PgContributionStore,
    private readonly worker: EvaluationWorker,
    private readonly o: QueueOptions,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const id = await this.store.claim(this.o.name, this.o.leaseMs, this.o.now());
      if (id === undefined) {
        await sleep(this.o.pollMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      await this.worker.judge(id);
      this.judged++;
    }
  }
}

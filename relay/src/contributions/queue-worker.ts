import { setTimeout as sleep } from 'node:timers/promises';
import type { DataWorker } from '../data/worker.ts';
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
 * FOR UPDATE SKIP LOCKED), judge it to its end with the EvaluationWorker, repeat; with no
 * contribution waiting, take the oldest waiting dataset upload (DataWorker.take, leased the same
 * way) to its next resting state; wait `pollMs` when both queues are empty. Stops between jobs
 * once `signal` aborts.
 */
export class QueueWorker {
  /** Contributions this process has judged to their end. */
  judged = 0;
  /** Dataset uploads this process has scored or appended. */
  uploads = 0;

  constructor(
    private readonly store: PgContributionStore,
    private readonly worker: EvaluationWorker,
    private readonly data: DataWorker,
    private readonly o: QueueOptions,
  ) {}

  /**
   * Judges waiting contributions one at a time until none can be claimed now (each claimed job is
   * judged to its end; `signal` stops it between jobs); how many it judged.
   */
  async judgeWaiting(signal?: AbortSignal): Promise<number> {
    let n = 0;
    while (signal?.aborted !== true) {
      const id = await this.store.claim(this.o.name, this.o.leaseMs, this.o.now());
      if (id === undefined) break;
      await this.worker.judge(id);
      this.judged++;
      n++;
    }
    return n;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if ((await this.judgeWaiting(signal)) > 0) continue;
      if ((await this.data.take()) !== undefined) this.uploads++;
      else await sleep(this.o.pollMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

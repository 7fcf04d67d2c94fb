import { setTimeout as sleep } from 'node:timers/promises';
import type { Rounds } from '../rounds/rounds.ts';
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
 * way) to its next resting state; with neither, claim and judge a due round (Rounds.judgeNext, the
 * same way); wait `pollMs` when all three are empty. Stops between jobs once `signal` aborts.
 */
export class QueueWorker {
  /** Contributions this process has judged to their end. */
  judged = 0;
  /** Rounds this process has judged to their end. */
  rounds = 0;
  /** Dataset uploads this process has scored or appended. */
  uploads = 0;

  constructor(
    private readonly store: PgContributionStore,
    private readonly worker: EvaluationWorker,
    private readonly data: DataWorker,
    private readonly roundJudge: Rounds,
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

  /** Judges one due round to its end; false when none is due. A round whose judging failed is taken again once its claim runs out. */
  async judgeRound(): Promise<boolean> {
    try {
      return (await this.roundJudge.judgeNext()) !== undefined;
    } catch (e) {
      console.error(`rounds: ${(e as Error).message}; the round is taken again once its claim runs out`);
      return false;
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if ((await this.judgeWaiting(signal)) > 0) continue;
      if ((await this.data.take()) !== undefined) this.uploads++;
      else if (await this.judgeRound()) this.rounds++;
      else await sleep(this.o.pollMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

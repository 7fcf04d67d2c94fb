import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hash, blockHash } from '@blyan/block';
import { relayRules } from '../src/config.ts';
import { defaultAccountsConfig } from '../src/contributions/config.ts';
import { corpusDocs } from '../src/corpus.ts';
import { genesisFromCheckpoint } from '../src/genesis.ts';
import { corpusCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import { createApp } from '../src/server/app.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { ORIGIN, assignment, clock, contributionBody, login, nudgeOn, submitContribution } from '../test/accounts-helpers.ts';
import { EVALUATOR_KEY, TINY, TRUST, UNLIMITED, genesisAccount } from '../test/helpers.ts';
import { startWorker } from '../test/serve-process.ts';

/** Contributions queued per measurement: two per account (its most waiting), every one judged in full. */
export const QUEUED = 24;

export interface QueueResult {
  workers: number;
  jobs: number;
  seconds: number;
  /** Mean evaluation time per job as the workers measured it. */
  evalMs: number;
}

/**
 * The evaluation queue's throughput with `workers` `blyan worker` processes: a replica (in this
 * process) on a fresh PostgreSQL schema and bucket prefix queues QUEUED signed contributions on
 * the tiny corpus model, then the workers are started and timed from ready until the queue is
 * empty. δ is set out of reach, so every job is a full hidden evaluation and no head moves.
 */
export async function queueThroughput(pgUrl: string, objects: string, env: Record<string, string>, workers: number): Promise<QueueResult> {
  const schema = `queue_${workers}_${Date.now()}`;
  const admin = await openPgPool(pgUrl, 1);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(pgUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const database = url.toString();
  const work = await mkdtemp(join(tmpdir(), 'blyan-queue-'));
  const children: ChildProcess[] = [];
  const relay = await openRelay(join(work, 'relay'), relayRules(1 << 20), defaultAccountsConfig(ORIGIN, corpusDocs), null, { database, objects: `${objects}/${schema}` });
  try {
    const genesis = await genesisFromCheckpoint(corpusCheckpoint(TINY, 3, corpusDocs), 'bench checkpoint', genesisAccount, { createdAt: Date.now() - 60_000, trust: TRUST });
    for (const b of genesis) {
      const r = await relay.ledger.submit(b);
      if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    }
    const meta: Hash = blockHash(genesis[0]!.header);
    const app = createApp({ ...relay, maxPayloadBytes: 1 << 20, limits: UNLIMITED });
    clock.now = Date.now();
    for (let account = 0; account < QUEUED / 2; account++) {
      const who = await login(app);
      for (let k = 0; k < 2; k++) {
        const a = await assignment(app, who);
        const base = genesis.find((b) => blockHash(b.header) === a.base)!;
        const { delta } = nudgeOn(base, a.slot, 0.05, account * 10 + k);
        const { body } = await contributionBody({ meta }, a.slot, base, delta, who.account, who.key, { shard: a.shard.index, createdAt: Date.now() });
        const res = await submitContribution(app, body, who.cookie);
        if (res.status !== 202) throw new Error(`queueing failed: ${res.status} ${await res.text()}`);
      }
    }
    const db = await openPgPool(database, 1);
    const started = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        startWorker(children, join(work, `worker-${i}`), ['--database', database, '--objects', `${objects}/${schema}`, '--min-improvement', '1000', '--poll-ms', '50'], { ...env, BLYAN_EVALUATOR_KEY: EVALUATOR_KEY }),
      ),
    );
    const t0 = performance.now();
    const waiting = async () => Number((await db.query("SELECT count(*) AS n FROM contributions WHERE status IN ('queued', 'appending')")).rows[0].n);
    while ((await waiting()) > 0) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    const { rows } = await db.query<{ n: number; ms: number }>("SELECT count(*) AS n, avg(eval_ms) AS ms FROM contributions WHERE reason = 'no_improvement'");
    await db.end();
    if (Number(rows[0]!.n) !== QUEUED) throw new Error(`${rows[0]!.n} of ${QUEUED} contributions were judged in full`);
    for (const w of started) {
      w.child.kill('SIGTERM');
      await once(w.child, 'exit');
    }
    return { workers, jobs: QUEUED, seconds, evalMs: Number(rows[0]!.ms) };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await relay.close();
    await rm(work, { recursive: true, force: true });
  }
}

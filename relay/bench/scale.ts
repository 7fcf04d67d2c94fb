import { type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Block, blockHash } from '@blyan/block';
import type { ModelConfig } from '@blyan/model';
import autocannon from 'autocannon';
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

/** One layer of experts of 197 KB each: int8 w1, w2, w3 of 256 × 256 plus their scales. */
const SCALE_MODEL: ModelConfig = { vocabSize: 300, dModel: 256, nLayers: 1, nHeads: 4, nExperts: 2, topK: 1, dFF: 256, contextLength: 64, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const CLIENTS = 32;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const REPLICAS = [1, 2, 3];

interface Result {
  rps: number;
  /** Requests served per CPU-second the server processes used: robust to other load on the machine. */
  perCpu: number;
  p50: number;
  p99: number;
  errors: number;
}

const CLOCK_TICKS = 100;

/** User + system CPU seconds used so far by `pids` (Linux /proc). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** Runs `CLIENTS` connections spread over `urls` for SECONDS after a 1 s warm-up; `pids` serve them. */
async function measure(urls: string[], pids: number[]): Promise<Result> {
  const run = (duration: number) =>
    Promise.all(urls.map((url, i) => autocannon({ url, connections: Math.floor(CLIENTS / urls.length) + (i < CLIENTS % urls.length ? 1 : 0), duration, pipelining: 1 })));
  await run(1);
  const cpu = cpuSeconds(pids);
  const rs = await run(SECONDS);
  const used = cpuSeconds(pids) - cpu;
  const requests = rs.reduce((n, r) => n + r.requests.total, 0);
  return {
    rps: requests / SECONDS,
    perCpu: requests / used,
    p50: Math.max(...rs.map((r) => r.latency.p50)),
    p99: Math.max(...rs.map((r) => r.latency.p99)),
    errors: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
  };
}

/** Fetches `url` once and checks it serves exactly `payload`. */
async function check(url: string, payload: Uint8Array): Promise<void> {
  const got = new Uint8Array(await (await fetch(url)).arrayBuffer());
  if (!Buffer.from(got).equals(payload)) throw new Error(`${url} does not serve the payload`);
}

async function startNginx(root: string, port: number): Promise<{ pids: number[]; stop(): Promise<void> }> {
  const conf = join(root, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes auto;
pid ${root}/nginx.pid;
error_log ${root}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path ${root}/tmp;
  proxy_temp_path ${root}/tmp;
  fastcgi_temp_path ${root}/tmp;
  uwsgi_temp_path ${root}/tmp;
  scgi_temp_path ${root}/tmp;
  server {
    listen 127.0.0.1:${port};
    root ${root}/www;
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}
`,
  );
  execFileSync('nginx', ['-c', conf, '-p', root]);
  const master = Number(readFileSync(join(root, 'nginx.pid'), 'utf8'));
  const workers = execFileSync('pgrep', ['-P', String(master)]).toString().trim().split('\n').map(Number);
  return {
    pids: [master, ...workers],
    stop: async () => {
      execFileSync('nginx', ['-c', conf, '-p', root, '-s', 'stop']);
    },
  };
}

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
    const blocks = await genesisFromCheckpoint(randomCheckpoint(SCALE_MODEL), 'random checkpoint', privateKeyToAccount(key.key));
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
    const nginx = await startNginx(nginxRoot, nginxPort);
    stops.push(nginx.stop);
    const nginxUrl = `http://127.0.0.1:${nginxPort}/payload`;
    await check(nginxUrl, expert.payload);

    const rows: string[][] = [];
    const replicaSet = async (name: string, n: number, storeOf: (i: number) => Promise<string>, extra: string[], env: Record<string, string>) => {
      const started = await Promise.all(Array.from({ length: n }, async (_, i) => startServe(children, await storeOf(i), extra, env)));
      const urls = started.map((s) => `${s.url}${path}`);
      for (const u of urls) await check(u, expert.payload);
      const base = await measure([nginxUrl], nginx.pids);
      const relay = await measure(urls, started.map((p) => p.child.pid!));
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

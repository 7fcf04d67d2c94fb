import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '@blyan/model';
import autocannon from 'autocannon';

/** One layer of experts of 197 KB each (200,064 bytes): int8 w1, w2, w3 of 256 × 256 plus their scales. */
export const EXPERT_197K: ModelConfig = { vocabSize: 300, dModel: 256, nLayers: 1, nHeads: 4, nExperts: 2, topK: 1, dFF: 256, contextLength: 64, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };

/** The load: 32 keep-alive clients. */
export const CLIENTS = 32;

export interface Result {
  rps: number;
  /** Requests served per CPU-second the server processes used: robust to other load on the machine. */
  perCpu: number;
  p50: number;
  p99: number;
  /** Transport errors and responses with another status than the one expected. */
  errors: number;
}

/** Nanoseconds on a CPU so far of every thread of `pids` (Linux /proc/<pid>/task/<tid>/schedstat). */
function cpuNs(pids: number[]): number {
  let ns = 0;
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that ended between the listing and the read
      }
    }
  }
  return ns;
}

/**
 * CLIENTS keep-alive connections (autocannon, in this process) spread over `urls` for `seconds`
 * after a 1 s warm-up; `pids` are the processes serving them, whose CPU time is counted.
 * Responses of another status than `status` count as errors.
 */
export async function measure(urls: string[], pids: number[], seconds: number, status = 200): Promise<Result> {
  const run = (duration: number) =>
    Promise.all(
      urls.map((url, i) =>
        autocannon({ url, connections: Math.floor(CLIENTS / urls.length) + (i < CLIENTS % urls.length ? 1 : 0), duration, pipelining: 1 }),
      ),
    );
  await run(1);
  const cpu = cpuNs(pids);
  const rs = await run(seconds);
  const used = (cpuNs(pids) - cpu) / 1e9;
  const requests = rs.reduce((n, r) => n + r.requests.total, 0);
  const wrong = rs.reduce((n, r) => n + Object.entries(r.statusCodeStats ?? {}).reduce((m, [code, s]) => m + (Number(code) === status ? 0 : (s.count ?? 0)), 0), 0);
  return {
    rps: requests / seconds,
    perCpu: requests / used,
    p50: Math.max(...rs.map((r) => r.latency.p50)),
    p99: Math.max(...rs.map((r) => r.latency.p99)),
    errors: rs.reduce((n, r) => n + r.errors, 0) + wrong,
  };
}

/** Fetches `url` once (following redirects) and checks it serves exactly `payload`. */
export async function check(url: string, payload: Uint8Array): Promise<void> {
  const got = new Uint8Array(await (await fetch(url)).arrayBuffer());
  if (!Buffer.from(got).equals(payload)) throw new Error(`${url} does not serve the payload`);
}

/**
 * nginx (Debian's package) serving the files under `www` on 127.0.0.1:`port` with `sendfile`, as
 * a CDN edge or a bucket front would: the baseline a relay serving the same bytes is held to.
 * `root` holds its config, pid and temp files.
 */
export async function startNginx(root: string, www: string, port: number): Promise<{ pids: number[]; stop(): Promise<void> }> {
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
    root ${www};
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

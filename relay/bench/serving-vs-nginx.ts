import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { formatTable } from '../src/cli/table.ts';
import { genesisKey, relayRules } from '../src/config.ts';
import { genesisFromCheckpoint } from '../src/genesis.ts';
import { randomCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import { freePort } from '../test/servers.ts';
import { startServe } from '../test/serve-process.ts';
import { startListening } from './relay-process.ts';
import { CLIENTS, EXPERT_197K, type Result, check, measure, startNginx } from './static-baseline.ts';
import { median } from './stats.ts';

/**
 * `pnpm bench:serving`: one relay replica serving a 197 KB expert payload to 32 keep-alive clients
 * (autocannon, in this process), against nginx (Debian) serving the same file from the same
 * objects/ folder, in interleaved rounds so that other load on the machine hits every server alike:
 * `blyan serve` (the node:http fast path), the same store through the Hono app alone (how the relay
 * served payloads before the fast path), and `blyan serve --payload-url` pointing at the nginx
 * (the relay answers 307; its row is the cost of the redirect, nginx's the cost of the bytes).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Target {
  name: string;
  url: string;
  pids: number[];
  status: number;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'blyan-serving-'));
  const children: ChildProcess[] = [];
  let stopNginx: (() => Promise<void>) | undefined;
  try {
    const store = join(work, 'store');
    const key = await genesisKey(store, true);
    const blocks = await genesisFromCheckpoint(randomCheckpoint(EXPERT_197K), 'random checkpoint', privateKeyToAccount(key.key));
    const relay = await openRelay(store, relayRules());
    for (const b of blocks) {
      const r = await relay.ledger.submit(b);
      if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    }
    await relay.close();
    const expert = blocks.find((b) => b.header.type === 'expert')!;
    const path = `/v1/blocks/${blockHash(expert.header)}/payload`;
    const object = `/${expert.header.payload_hash.slice(0, 2)}/${expert.header.payload_hash.slice(2)}`;

    await chmod(work, 0o755);
    const nginxRoot = join(work, 'nginx');
    await mkdir(join(nginxRoot, 'tmp'), { recursive: true });
    const nginxPort = await freePort();
    const nginx = await startNginx(nginxRoot, join(store, 'objects'), nginxPort);
    stopNginx = nginx.stop;
    const nginxBase = `http://127.0.0.1:${nginxPort}`;

    const copy = join(work, 'store-hono');
    await cp(store, copy, { recursive: true });
    const redirectStore = join(work, 'store-redirect');
    await cp(store, redirectStore, { recursive: true });
    const fast = await startServe(children, store);
    const hono = await startListening(['--import', 'tsx', join(import.meta.dirname, 'hono-only.ts'), copy]);
    children.push(hono.child);
    const redirect = await startServe(children, redirectStore, ['--payload-url', nginxBase]);
    const targets: Target[] = [
      { name: 'nginx 1.22, static file (sendfile)', url: `${nginxBase}${object}`, pids: nginx.pids, status: 200 },
      { name: 'relay: blyan serve (fast path)', url: `${fast.url}${path}`, pids: [fast.child.pid!], status: 200 },
      { name: 'relay: Hono app only (before)', url: `${hono.url}${path}`, pids: [hono.child.pid!], status: 200 },
      { name: 'relay: --payload-url, 307 to nginx', url: `${redirect.url}${path}`, pids: [redirect.child.pid!], status: 307 },
    ];
    for (const t of targets) await check(t.url, expert.payload);

    const load = [loadavg()[0]!];
    const results = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const r = await measure([t.url], t.pids, SECONDS, t.status);
        results.get(t.name)!.push(r);
        console.log(`round ${round + 1}  ${t.name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.perCpu.toFixed(0)} req/CPU-s, ${r.errors} errors`);
      }
      load.push(loadavg()[0]!);
    }
    const base = results.get(targets[0]!.name)!;
    const ratio = (rs: Result[], f: (r: Result) => number) => `${median(rs.map((r, i) => f(r) / f(base[i]!))).toFixed(2)}×`;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
    const rows = targets.map((t) => {
      const rs = results.get(t.name)!;
      return [
        t.name,
        range(rs.map((r) => r.rps)),
        range(rs.map((r) => r.p99)),
        range(rs.map((r) => r.perCpu)),
        ratio(rs, (r) => r.rps),
        ratio(rs, (r) => r.perCpu),
        String(rs.reduce((n, r) => n + r.errors, 0)),
      ];
    });
    console.log(`\npayload ${expert.payload.length} bytes, ${CLIENTS} keep-alive clients (autocannon, in this process), ${ROUNDS} interleaved rounds of ${SECONDS} s after 1 s of warm-up each;`);
    console.log(`1-minute load average ${load.map((l) => l.toFixed(1)).join(', ')} (before the first round and after each); ratios are medians of the per-round ratios to nginx`);
    console.log(formatTable(['server', 'req/s', 'p99 ms', 'req/CPU-s', 'req/s ÷ nginx', 'req/CPU-s ÷ nginx', 'errors'], rows));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
    await stopNginx?.();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

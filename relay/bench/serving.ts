import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { genesisKey, relayRules } from '../src/config.ts';
import type { ModelConfig } from '@blyan/model';
import { genesisFromCheckpoint } from '../src/genesis.ts';
import { randomCheckpoint } from '../src/random-checkpoint.ts';
import { openRelay } from '../src/relay.ts';
import { startRelay } from './relay-process.ts';
import { mbps } from './timing.ts';

/** Experts of ~300 KB: int8 w1, w2, w3 of 384 × 256 plus their scales. */
const SERVE_MODEL: ModelConfig = { vocabSize: 300, dModel: 256, nLayers: 1, nHeads: 4, nExperts: 2, topK: 1, dFF: 384, contextLength: 64, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
export const CLIENTS = 32;
const REQUESTS = 8000;
const WARMUP = 500;

function fetchOnce(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function load(agent: Agent, url: string, total: number): Promise<{ secs: number; latencies: number[]; bytes: number }> {
  const latencies: number[] = [];
  let issued = 0;
  let bytes = 0;
  const client = async () => {
    while (issued < total) {
      issued++;
      const s = performance.now();
      const n = await fetchOnce(agent, url);
      bytes += n;
      latencies.push(performance.now() - s);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { secs: (performance.now() - start) / 1000, latencies: latencies.sort((a, b) => a - b), bytes };
}

/**
 * A bounded load of payload GETs over real HTTP against `blyan serve` in its own process, from
 * CLIENTS concurrent keep-alive clients; stops by itself.
 */
export async function serving(): Promise<{ rows: string[][]; size: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'blyan-bench-'));
  try {
    const key = await genesisKey(dir, true);
    const relay = await openRelay(dir, relayRules());
    const blocks = await genesisFromCheckpoint(randomCheckpoint(SERVE_MODEL), 'random checkpoint', privateKeyToAccount(key.key));
    for (const b of blocks) await relay.ledger.submit(b);
    await relay.close();
    const expert = blocks.find((b) => b.header.type === 'expert')!;
    const { child, url } = await startRelay(dir);
    try {
      const target = `${url}/v1/blocks/${blockHash(expert.header)}/payload`;
      const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
      await load(agent, target, WARMUP);
      const { secs, latencies, bytes } = await load(agent, target, REQUESTS);
      agent.destroy();
      const pct = (p: number) => `${latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2)} ms`;
      return {
        size: expert.payload.length,
        rows: [
          ['requests', String(REQUESTS)],
          ['requests/s', (REQUESTS / secs).toFixed(0)],
          ['throughput', mbps(bytes, secs)],
          ['latency p50', pct(50)],
          ['latency p99', pct(99)],
        ],
      };
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}


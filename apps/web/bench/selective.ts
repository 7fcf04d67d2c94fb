import type { Browser } from '@playwright/test';
import { GENESIS_V1_CHECKPOINT } from '../e2e/paths.ts';
import type { Link } from '../e2e/relay-proxy.ts';
import type { FetchReason, RoutingMode } from '../src/protocol.ts';
import type { Network } from './session.ts';
import { coldOpen, openNetwork } from './session.ts';
import { mean } from '../../../relay/bench/stats.ts';

interface Mode {
  label: string;
  network: Network;
  routing: RoutingMode;
}

/** The chat page's address for a network: straight to its relay, or through a proxy emulating `link`. */
type Reach = (network: Network) => string;

interface ColdAnswer {
  /** Page load until the model is ready (meta and dense blocks fetched and verified). */
  startMs: number;
  ttftMs: number;
  /** Every payload byte the page fetched, meta and dense blocks included. */
  bytes: number;
  expertBytes: number;
  experts: number;
  reasons: Record<FetchReason, number>;
}

/** The payload bytes of every expert block the network's relay serves now: what "all of the model's experts" costs. */
async function modelExpertBytes(network: Network): Promise<number> {
  const { slots } = (await (await fetch(`${network.relay.url}/v1/params`)).json()) as { slots: Record<string, string> };
  const sizes = await Promise.all(
    Object.entries(slots)
      .filter(([slot]) => slot.includes('.expert'))
      .map(async ([, hash]) => ((await (await fetch(`${network.relay.url}/v1/blocks/${hash}`)).json()) as { header: { payload_size: number } }).header.payload_size),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** One prompt in a fresh browser profile (empty cache): the page opened cold, then the answer. */
async function coldAnswer(browser: Browser, chatUrl: string, mode: Mode, prompt: string, maxTokens: number): Promise<ColdAnswer> {
  let bytes = 0;
  const { chat, startMs, context } = await coldOpen(browser, chatUrl, (c) =>
    c.on('response', (r) => {
      if (/\/v1\/blocks\/[0-9a-f]{64}\/payload$/.test(r.url())) bytes += Number(r.headers()['content-length'] ?? 0);
    }),
  );
  try {
    await chat.settings({ routing: mode.routing, temperature: 0, maxTokens });
    const { stats, plan } = await chat.ask(prompt);
    const reasons = { prompt: 0, predicted: 0, 'on-demand': 0 };
    for (const f of plan) if (f.source === 'network') reasons[f.reason]++;
    return { startMs, ttftMs: stats.ttftMs, bytes, expertBytes: stats.expertBytesDownloaded, experts: plan.filter((f) => f.source === 'network').length, reasons };
  } finally {
    await context.close();
  }
}

/** The rows compared: genesis v1's dynamic routing, v2's default budget, low-bandwidth budget and dynamic routing. */
const modes = (v1: Network, v2: Network): Mode[] => [
  { label: 'v1, dynamic (8 experts per layer)', network: v1, routing: 'dynamic' },
  { label: 'v2, default budget (6 of 16 per layer)', network: v2, routing: 'static' },
  { label: 'v2, low bandwidth (3 of 16 per layer)', network: v2, routing: 'low-bandwidth' },
  { label: 'v2, dynamic (16 experts per layer)', network: v2, routing: 'dynamic' },
];

/** One table: every mode, each prompt cold in a fresh profile, the page reaching its relay as `reach` says. */
async function compareOver(browser: Browser, rows: Mode[], expertBytes: Map<Network, number>, prompts: readonly string[], maxTokens: number, over: string, reach: Reach): Promise<void> {
  console.log(`\nSelective loading, genesis v1 against v2 over ${over} (${prompts.length} one-sentence prompts, ${maxTokens}-token greedy answers, each in a fresh profile; means):\n`);
  console.log('| genesis, routing | cold start | cold time to first token | start + first token | bytes downloaded per prompt (all blocks) | expert bytes per prompt (share of the model’s) | experts per prompt (prompt set / predicted / on demand) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const mode of rows) {
    const runs: ColdAnswer[] = [];
    for (const prompt of prompts) runs.push(await coldAnswer(browser, reach(mode.network), mode, prompt, maxTokens));
    const avg = (f: (r: ColdAnswer) => number) => mean(runs.map(f));
    const reasons = (['prompt', 'predicted', 'on-demand'] as const).map((r) => avg((x) => x.reasons[r]).toFixed(1)).join(' / ');
    const share = (100 * avg((r) => r.expertBytes)) / expertBytes.get(mode.network)!;
    console.log(
      `| ${mode.label} | ${avg((r) => r.startMs).toFixed(0)} ms | ${avg((r) => r.ttftMs).toFixed(0)} ms | ${avg((r) => r.startMs + r.ttftMs).toFixed(0)} ms | ${(avg((r) => r.bytes) / 1e6).toFixed(2)} MB | ${(avg((r) => r.expertBytes) / 1e6).toFixed(2)} MB (${share.toFixed(1)} %) | ${avg((r) => r.experts).toFixed(1)} (${reasons}) |`,
    );
  }
}

/**
 * Selective loading, genesis v1 against v2 in the same run (issue 12): for each prompt in a fresh
 * profile, cold start, cold time to first token, bytes and experts downloaded, for every mode of
 * `modes`; once over loopback and once over each of `links`. `v2` is the canonical network already
 * open; v1 gets a relay of its own.
 */
export async function compareGenesis(browser: Browser, v2: Network, prompts: readonly string[], maxTokens: number, links: readonly Link[]): Promise<void> {
  const v1 = await openNetwork(GENESIS_V1_CHECKPOINT);
  try {
    const rows = modes(v1, v2);
    const expertBytes = new Map([[v1, await modelExpertBytes(v1)], [v2, await modelExpertBytes(v2)]]);
    await compareOver(browser, rows, expertBytes, prompts, maxTokens, 'loopback', (n) => n.chatUrl);
    for (const link of links) {
      const proxies = new Map([[v1, await v1.throttled(link)], [v2, await v2.throttled(link)]]);
      try {
        const over = `a ${(link.bytesPerSecond * 8e-6).toFixed(0)} Mbit/s link with ${link.latencyMs} ms latency (emulated at a proxy)`;
        await compareOver(browser, rows, expertBytes, prompts, maxTokens, over, (n) => proxies.get(n)!.chatUrl);
      } finally {
        for (const p of proxies.values()) await p.close();
      }
    }
  } finally {
    await v1.close();
  }
}

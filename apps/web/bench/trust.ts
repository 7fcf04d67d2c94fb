/**
 * The page's trust check against its cold start, in the machine's Chromium:
 * `pnpm bench:trust` (builds apps/web first). One relay founded from the committed canonical
 * genesis checkpoint (else the small e2e model) and the built app served twice: pinned to it
 * with its signed genesis headers shipped in genesis.json (what a build for the network serves:
 * Lineage hashes them against the pin and walks stop at genesis), and pinned with the hash alone
 * (the baseline: every genesis block fetched from the relay and its signature recovered).
 * Each cold start runs in a fresh profile, alternating the two, ROUNDS times each.
 */
import type { Browser } from '@playwright/test';
import { pinnedDist } from '../e2e/pinned-dist.ts';
import { serveStatic } from '../e2e/static-server.ts';
import type { TrustCheck } from '../src/protocol.ts';
import { coldOpen, openSession } from './session.ts';
import { median } from '../../../relay/bench/stats.ts';

const ROUNDS = 3;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** One cold start of `chatUrl` in a fresh profile: its milliseconds and the trust check the page reports. */
async function coldStart(browser: Browser, chatUrl: string): Promise<{ start: number; trust: TrustCheck }> {
  const { chat, startMs, context } = await coldOpen(browser, chatUrl);
  try {
    return { start: startMs, trust: JSON.parse((await chat.page.getByTestId('trust').getAttribute('data-trust'))!) as TrustCheck };
  } finally {
    await context.close();
  }
}

const s = await openSession();
const bare = await pinnedDist();
await bare.pin(s.relay.genesis);
const bareApp = await serveStatic(bare.dir);
try {
  const variants = [
    { label: 'pin only (baseline: genesis fetched from the relay, every signature recovered)', url: `${bareApp.url}/?relay=${encodeURIComponent(s.relay.url)}` },
    { label: 'pin and its shipped genesis headers (hashed against the pin, not fetched)', url: s.chatUrl },
  ];
  const runs = variants.map(() => [] as { start: number; trust: TrustCheck }[]);
  for (let r = 0; r < ROUNDS; r++) for (const [i, v] of variants.entries()) runs[i]!.push(await coldStart(s.browser, v.url));
  console.log(`model: ${s.model}; Chromium ${s.browser.version()}; ${ROUNDS} cold starts each, alternating, fresh profile each\n`);
  console.log('| genesis.json | blocks verified | trust check (median) | cold start (median) | share of cold start |\n| --- | --- | --- | --- | --- |');
  for (const [i, v] of variants.entries()) {
    const trust = median(runs[i]!.map((x) => x.trust.ms));
    const start = median(runs[i]!.map((x) => x.start));
    console.log(`| ${v.label} | ${runs[i]![0]!.trust.blocks} | ${ms(trust)} | ${ms(start)} | ${((100 * trust) / start).toFixed(1)} % |`);
  }
} finally {
  await bareApp.close();
  await bare.remove();
  await s.close();
}

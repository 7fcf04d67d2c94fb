import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium } from '@playwright/test';
import { ChatPage } from '../e2e/chat-page.ts';
import { CHROMIUM } from '../e2e/chromium.ts';
import { DIST, GENESIS_CHECKPOINT } from '../e2e/paths.ts';
import { pinnedDist } from '../e2e/pinned-dist.ts';
import { type RelayProcess, startRelay } from '../e2e/relay-process.ts';
import { type Link, relayProxy } from '../e2e/relay-proxy.ts';
import { type Running, serveStatic } from '../e2e/static-server.ts';

/** A relay seeded from one checkpoint and the built app pinned to its network (its genesis headers shipped, as a build for it would), served from its own origin. */
export interface Network {
  relay: RelayProcess;
  app: Running;
  chatUrl: string;
  /** The chat page reaching the relay through a proxy that emulates `link`; close it when done. */
  throttled(link: Link): Promise<{ chatUrl: string; close(): Promise<void> }>;
  close(): Promise<void>;
}

/** A relay founding its own network from `checkpoint` (else the small random e2e model) and a copy of the build pinned to it. Build the app first. */
export async function openNetwork(checkpoint?: string): Promise<Network> {
  if (!existsSync(join(DIST, 'index.html'))) throw new Error(`no build in ${DIST}: run pnpm --filter @blyan/web build`);
  const relay = await startRelay(checkpoint);
  const dist = await pinnedDist();
  await dist.pin(relay.genesis, await relay.genesisHeaders());
  const app = await serveStatic(dist.dir);
  return {
    relay,
    app,
    chatUrl: `${app.url}/?relay=${encodeURIComponent(relay.url)}`,
    async throttled(link) {
      const proxy = await relayProxy(relay.url, 0, link);
      return { chatUrl: `${app.url}/?relay=${encodeURIComponent(proxy.url)}`, close: () => proxy.close() };
    },
    async close() {
      await app.close();
      await dist.remove();
      await relay.stop();
    },
  };
}

export interface BrowserSession extends Network {
  browser: Browser;
  /** Which model the relay serves. */
  model: string;
}

/**
 * A relay (the committed canonical genesis checkpoint when there is one, else the small random e2e
 * model), the built app with that relay's genesis pin and the machine's Chromium, for the scripts in this folder.
 */
export async function openSession(): Promise<BrowserSession> {
  const checkpoint = existsSync(GENESIS_CHECKPOINT) ? GENESIS_CHECKPOINT : undefined;
  const network = await openNetwork(checkpoint);
  const browser = await chromium.launch({ ...CHROMIUM, headless: true });
  return {
    ...network,
    browser,
    model: checkpoint ? 'the committed canonical genesis checkpoint (v2)' : 'the small random e2e model (no public/genesis-v2/checkpoint.tensors)',
    async close() {
      await browser.close();
      await network.close();
    },
  };
}

/**
 * `chatUrl` opened cold in a fresh browser profile (empty cache): the page, and its milliseconds until Send is enabled;
 * `watch` sees the profile before the page opens (to count its responses, say). Close `context` when done.
 */
export async function coldOpen(browser: Browser, chatUrl: string, watch?: (context: BrowserContext) => void): Promise<{ chat: ChatPage; startMs: number; context: BrowserContext }> {
  const context = await browser.newContext();
  try {
    watch?.(context);
    const chat = new ChatPage(await context.newPage(), chatUrl);
    const t0 = performance.now();
    await chat.open();
    return { chat, startMs: performance.now() - t0, context };
  } catch (e) {
    await context.close();
    throw e;
  }
}

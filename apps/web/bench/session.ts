import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from '@playwright/test';
import { CHROMIUM } from '../e2e/chromium.ts';
import { DIST, GENESIS_CHECKPOINT } from '../e2e/paths.ts';
import { pinnedDist } from '../e2e/pinned-dist.ts';
import { type RelayProcess, startRelay } from '../e2e/relay-process.ts';
import { type Running, serveStatic } from '../e2e/static-server.ts';

export interface BrowserSession {
  relay: RelayProcess;
  app: Running;
  browser: Browser;
  /** Which model the relay serves. */
  model: string;
  chatUrl: string;
  close(): Promise<void>;
}

/**
 * A relay (the committed genesis checkpoint when there is one, else the small random e2e model),
 * the built app with that relay's genesis pin and the machine's Chromium, for the scripts in this folder. Build the app first.
 */
export async function openSession(): Promise<BrowserSession> {
  if (!existsSync(join(DIST, 'index.html'))) throw new Error(`no build in ${DIST}: run pnpm --filter @blyan/web build`);
  const checkpoint = existsSync(GENESIS_CHECKPOINT) ? GENESIS_CHECKPOINT : undefined;
  const relay = await startRelay(checkpoint);
  const dist = await pinnedDist();
  await dist.pin(relay.genesis);
  const app = await serveStatic(dist.dir);
  const browser = await chromium.launch({ ...CHROMIUM, headless: true });
  return {
    relay,
    app,
    browser,
    model: checkpoint ? 'the committed genesis checkpoint' : 'the small random e2e model (no public/genesis-v2/checkpoint.tensors)',
    chatUrl: `${app.url}/?relay=${encodeURIComponent(relay.url)}`,
    async close() {
      await browser.close();
      await app.close();
      await dist.remove();
      await relay.stop();
    },
  };
}

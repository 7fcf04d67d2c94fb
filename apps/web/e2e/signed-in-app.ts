import { type BrowserContext, test as base } from '@playwright/test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type PinnedDist, pinnedDist } from './pinned-dist.ts';
import { type RelayProcess, startRelay } from './relay-process.ts';
import { type RelayProxy, relayProxy } from './relay-proxy.ts';
import { type Running, serveStatic } from './static-server.ts';

/** The usage pool's period on the signed-in relay (`--usage-period`): short, so a test sees one end. */
export const USAGE_PERIOD_S = 2;

/**
 * For tests that sign in: the app first, so the relay can name its origin (SIWE domain and URI,
 * CORS with credentials); the relay serves the corpus-tokenized e2e model, accepts a drop of
 * 1e-4 nats/token and pays its usage pool every USAGE_PERIOD_S. The app is built with the relay's own pin (written once the relay has founded
 * its network).
 */
export const test = base.extend<{ relayOptions: string[]; relayCheckpoint: string | undefined; dist: PinnedDist; app: Running; relay: RelayProcess; net: RelayProxy }>({
  /** More `blyan serve` options for the relay (a spec sets them with test.use). */
  relayOptions: [[], { option: true }],
  /** The checkpoint the relay founds its network from (a spec sets it with test.use): by default the corpus-tokenized e2e model. */
  relayCheckpoint: [undefined, { option: true }],
  dist: async ({}, use) => {
    const dist = await pinnedDist();
    await use(dist);
    await dist.remove();
  },
  app: async ({ dist }, use) => {
    const app = await serveStatic(dist.dir);
    await use(app);
    await app.close();
  },
  relay: async ({ app, dist, relayOptions, relayCheckpoint }, use) => {
    const relay = await startRelay(relayCheckpoint, ['--corpus', '--origin', app.url, '--min-improvement', '1e-4', '--usage-period', String(USAGE_PERIOD_S), ...relayOptions]);
    await dist.pin(relay.genesis);
    await use(relay);
    await relay.stop();
  },
  net: async ({ relay }, use) => {
    const proxy = await relayProxy(relay.url);
    await use(proxy);
    await proxy.close();
  },
});

export { expect } from '@playwright/test';

/** A fresh key in the test whose `personal_sign` pages of `context` reach as `window.blyanTestSign(hex)` (real secp256k1 signatures); its lowercase address. */
export async function testSigner(context: BrowserContext): Promise<string> {
  const wallet = privateKeyToAccount(generatePrivateKey());
  await context.exposeFunction('blyanTestSign', (hex: Hex) => wallet.signMessage({ message: { raw: hex } }));
  return wallet.address.toLowerCase();
}

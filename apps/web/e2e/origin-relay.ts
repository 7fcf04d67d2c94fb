import { test as base } from '@playwright/test';
import { type PinnedDist, pinnedDist } from './pinned-dist.ts';
import { type RelayProcess, startRelay } from './relay-process.ts';
import { type Running, serveStatic } from './static-server.ts';

/**
 * The app first, so the relay can name its origin (SIWE domain and URI, CORS with credentials);
 * the relay serves the corpus-tokenized e2e model (its hidden evaluation and L1 scoring need the
 * corpus's tokenizer), with `options` passed to blyan serve. The app is built with the relay's own
 * pin (written once the relay has founded its network).
 */
export function originRelayTest(options: readonly string[]) {
  return base.extend<{ dist: PinnedDist; app: Running; relay: RelayProcess }>({
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
    relay: async ({ app, dist }, use) => {
      const relay = await startRelay(undefined, ['--corpus', '--origin', app.url, ...options]);
      await dist.pin(relay.genesis);
      await use(relay);
      await relay.stop();
    },
  });
}

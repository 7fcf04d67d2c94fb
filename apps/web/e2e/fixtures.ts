import { test as base, expect } from '@playwright/test';
import { ChatPage } from './chat-page.ts';
import { DIST } from './paths.ts';
import { type RelayProcess, startRelay } from './relay-process.ts';
import { type RelayProxy, relayProxy } from './relay-proxy.ts';
import { type Running, serveStatic } from './static-server.ts';

export const test = base.extend<{ net: RelayProxy; app: Running; chat: ChatPage }, { relay: RelayProcess }>({
  relay: [
    async ({}, use) => {
      const relay = await startRelay();
      await use(relay);
      await relay.stop();
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  net: async ({ relay }, use) => {
    const proxy = await relayProxy(relay.url);
    await use(proxy);
    await proxy.close();
  },
  app: async ({}, use) => {
    const app = await serveStatic(DIST);
    await use(app);
    await app.close();
  },
  chat: async ({ page, app, net }, use) => {
    await use(new ChatPage(page, `${app.url}/?relay=${encodeURIComponent(net.url)}`));
  },
});

export { expect };
export { ChatPage, payloadHashesIn, routeSlots, slotHeads } from './chat-page.ts';

import { test as base, expect } from '@playwright/test';
import { ChatPage } from './chat-page.ts';
import { pinnedDist } from './pinned-dist.ts';
import { type RelayProcess, startRelay } from './relay-process.ts';
import { type RelayProxy, relayProxy } from './relay-proxy.ts';
import { type Running, serveStatic } from './static-server.ts';

/** A relay of its own network (start-relay.ts founds one per store) and the app built with that network's pin, reaching the relay through a proxy. */
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
  app: async ({ relay }, use) => {
    const dist = await pinnedDist();
    await dist.pin(relay.genesis);
    const app = await serveStatic(dist.dir);
    await use(app);
    await app.close();
    await dist.remove();
  },
  chat: async ({ page, app, net }, use) => {
    await use(new ChatPage(page, `${app.url}/?relay=${encodeURIComponent(net.url)}`));
  },
});

export { expect };
export { ChatPage, expectFetchedAsPlanned, payloadHashesIn, routeSlots, slotHeads } from './chat-page.ts';

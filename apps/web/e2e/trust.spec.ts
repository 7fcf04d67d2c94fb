import { type Hash, blockHash, buildBlock } from '@blyan/block';
import type { BlockInfo, ParamIndex } from '@blyan/client';
import { privateKeyToAccount } from 'viem/accounts';
import { ChatPage, expect, payloadHashesIn, test } from './fixtures.ts';
import { pinnedDist } from './pinned-dist.ts';
import { startRelay } from './relay-process.ts';
import { relayProxy } from './relay-proxy.ts';
import { serveStatic } from './static-server.ts';

/** A key no meta block names: neither an authority nor an evaluator. */
const stranger = privateKeyToAccount('0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba');
const SLOT = 'layer0.expert0';

/** Opens the app on `chat.url` and expects the refusal banner for `reason`, saying `says`, and nothing of the relay in IndexedDB. */
async function expectRefused(chat: ChatPage, reason: string, says: string[]): Promise<void> {
  await chat.page.goto(chat.url);
  const refused = chat.page.getByTestId('refused');
  await expect(refused).toBeVisible({ timeout: 60_000 });
  await expect(refused).toHaveAttribute('data-reason', reason);
  for (const s of says) await expect(refused).toContainText(s);
  await expect(refused).toContainText('Nothing it served was used or stored.');
  await expect(chat.page.getByTestId('send')).toBeDisabled();
  expect(await chat.storedKeys('payloads')).toEqual([]);
  expect(await chat.storedKeys('entries')).toEqual([]);
  expect(await chat.storedKeys('state')).toEqual([]);
}

/** Rewrites JSON answers of the relay at `path` (a pathname) with `edit`. */
const rewriteJson =
  (edits: Record<string, (body: never) => unknown>) =>
  (path: string, body: Buffer): Buffer => {
    const edit = edits[path];
    return edit ? Buffer.from(JSON.stringify(edit(JSON.parse(body.toString()) as never))) : body;
  };

test('the app built for this network verifies the relay’s heads back to its genesis before it uses them', async ({ chat }) => {
  await chat.open();
  const trust = chat.page.getByTestId('trust');
  await expect(trust).toContainText('Every head verified back to the pinned genesis');
  expect(JSON.parse((await trust.getAttribute('data-trust'))!).blocks).toBeGreaterThan(1);
  await expect(chat.page.getByTestId('refused')).toHaveCount(0);
});

/** The built app pinned to `relay`'s genesis with `headers` shipped beside the pin, reaching the relay through `net`. */
async function shippedApp(pin: string, headers: unknown[], run: (appUrl: string) => Promise<void>): Promise<void> {
  const dist = await pinnedDist();
  await dist.pin(pin, headers);
  const app = await serveStatic(dist.dir);
  try {
    await run(app.url);
  } finally {
    await app.close();
    await dist.remove();
  }
}

test('the app shipped with its genesis headers proves the genesis by hashing them: its check verifies no block', async ({ page }) => {
  // A relay of its own: the worker's shared relay may hold versions earlier tests published, which are verified.
  const own = await startRelay();
  const proxy = await relayProxy(own.url);
  try {
    await shippedApp(own.genesis, await own.genesisHeaders(), async (appUrl) => {
      const chat = new ChatPage(page, `${appUrl}/?relay=${encodeURIComponent(proxy.url)}`);
      await chat.open();
      const trust = chat.page.getByTestId('trust');
      await expect(trust).toContainText('Every head verified back to the pinned genesis');
      expect(JSON.parse((await trust.getAttribute('data-trust'))!).blocks).toBe(0);
    });
  } finally {
    await proxy.close();
    await own.stop();
  }
});

test('an app shipped with genesis headers that are not its pin’s refuses every relay, and stores nothing', async ({ relay, net, page }) => {
  const foreign = await startRelay();
  try {
    await shippedApp(relay.genesis, await foreign.genesisHeaders(), async (appUrl) => {
      await expectRefused(new ChatPage(page, `${appUrl}/?relay=${encodeURIComponent(net.url)}`), 'foreign_genesis', [`not those of its pin ${relay.genesis}`]);
    });
  } finally {
    await foreign.stop();
  }
});

test('a relay serving a validly signed model of another genesis is refused, and nothing of it is stored', async ({ app, relay, page }) => {
  const foreign = await startRelay();
  const proxy = await relayProxy(foreign.url);
  try {
    expect(foreign.genesis).not.toBe(relay.genesis);
    const chat = new ChatPage(page, `${app.url}/?relay=${encodeURIComponent(proxy.url)}`);
    await expectRefused(chat, 'foreign_genesis', ['It serves a different model', `its meta chain starts at genesis ${foreign.genesis}, and this app trusts only genesis ${relay.genesis}`]);
    expect(payloadHashesIn(proxy.log)).toEqual([]);
  } finally {
    await proxy.close();
    await foreign.stop();
  }
});

test('a relay listing a head no authority signed and no evaluator accepted is refused, and nothing of it is stored', async ({ chat, net, relay }) => {
  const index = (await (await fetch(`${relay.url}/v1/params`)).json()) as ParamIndex;
  const base = index.slots[SLOT]! as Hash;
  const info = (await (await fetch(`${relay.url}/v1/blocks/${base}`)).json()) as BlockInfo;
  const forged = await buildBlock(
    { type: 'expert', index: info.header.index + 1, name: SLOT, depends_on: [index.meta, base], prev: base, payload: new Uint8Array(4096), meta: { encoding: 'tensors-v1' } },
    stranger,
  );
  const hash = blockHash(forged.header);
  // The relay's index, rewritten as a relay behind the rules would serve it: the stranger's block is the slot's head and listed.
  net.tamper = rewriteJson({
    '/v1/params': (p: ParamIndex) => ({ ...p, slots: { ...p.slots, [SLOT]: hash } }),
    '/v1/blocks': (page: { blocks: BlockInfo[]; next: number }) => ({ ...page, blocks: [...page.blocks, { ...info, hash, seq: page.next + 1, header: forged.header, verdict: null }] }),
  });
  await expectRefused(chat, 'unattested', ['no authority named by the chain signed', `block ${SLOT} (${hash}) is not attested`]);
  expect(payloadHashesIn(net.log)).toEqual([]);
});

test('a relay whose index lists another slot’s block as a head is refused, and nothing of it is stored', async ({ chat, net }) => {
  net.tamper = rewriteJson({ '/v1/params': (p: ParamIndex) => ({ ...p, slots: { ...p.slots, [SLOT]: p.slots['layer0.expert1'] } }) });
  await expectRefused(chat, 'broken_lineage', ['does not link back to the genesis', `as the head of ${SLOT}`]);
  expect(payloadHashesIn(net.log)).toEqual([]);
});

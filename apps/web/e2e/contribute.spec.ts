import type { Hex } from 'viem';
import { ChatPage, payloadHashesIn, slotHeads } from './chat-page.ts';
import { USAGE_PERIOD_S, expect, test } from './signed-in-app.ts';
import { signedIn } from './wallet.ts';

const PROMPT = 'It is a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife';
const SHORT = { temperature: 0, maxTokens: 6, routing: 'dynamic' } as const;
/** The usage pool's units per period (the relay's default). */
const USAGE_POOL = 10_000;

/** Rounds at production settings except what one browser cannot supply: one unit fills a round, and a delta is kept when its own-shard gain is surely above 0 (not 0.02; see dataset-round.spec.ts). */
test.use({ relayOptions: ['--round-contributors', '1', '--round-own-margin', '0'] });

test('a wallet signs in, its answer is reported as signed usage whose period pays the usage pool to the genesis author, the browser trains on WebGPU in a round until the relay keeps it, and another browser answers with the new version', async ({ app, net, browser }) => {
  test.setTimeout(300_000);
  const url = `${app.url}/?relay=${encodeURIComponent(net.url)}`;

  // The reader answers once, so we know which experts its prompt routes to.
  const readerContext = await browser.newContext();
  const reader = new ChatPage(await readerContext.newPage(), url);
  await reader.open();
  await reader.settings(SHORT);
  const first = await reader.ask(PROMPT);

  const { context: contributorContext, page, address } = await signedIn(browser, url, '#/contribute');

  // Signed in, an answer is reported: one report signed by the session key, which counts toward the
  // period's usage pool; when the (here short) period ends, the pool goes to the genesis author
  // (every expert's author so far).
  await page.getByRole('link', { name: 'Chat' }).click();
  const contributor = new ChatPage(page, url);
  await expect(page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  await contributor.settings(SHORT);
  const { stats } = await contributor.ask(PROMPT);
  expect(Object.keys(stats.expertTokens).sort()).toEqual(Object.values(stats.expertBlocks).sort());
  const claimed = Object.values(stats.expertTokens).reduce((s, n) => s + n, 0);
  await page.getByRole('link', { name: 'Contribute' }).click();
  await expect(page.getByTestId('usage')).toHaveAttribute('data-tokens', String(claimed), { timeout: 30_000 });
  expect(net.log.filter((p) => p === '/v1/usage')).toHaveLength(1);
  const genesisAuthor = (await header(net.url, Object.values(stats.expertBlocks)[0]!)).author;
  const history = async () => (await (await fetch(`${net.url}/v1/accounts/${genesisAuthor}/history`)).json()) as { balance: number; entries: { kind: string; amount: number }[] };
  await expect.poll(async () => (await history()).balance, { timeout: 4 * USAGE_PERIOD_S * 1000 }).toBe(USAGE_POOL);
  expect(await history()).toMatchObject({ entries: [{ kind: 'usage', amount: USAGE_POOL }] });

  // Contributing works in rounds (here on the model's own train split).
  await page.getByTestId('contribute-switch').check();
  await expect(page.getByTestId('unit')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('unit')).toHaveAttribute('data-dataset', '');
  const kept = page.locator('[data-testid="round-row"][data-state="accepted"]').first();
  await expect(kept).toBeVisible({ timeout: 200_000 });
  await page.getByTestId('contribute-switch').uncheck();
  const block = (await kept.getAttribute('data-block'))!;
  const slot = (await kept.locator('td').nth(1).textContent())!;
  await expect(kept.getByTestId('verdict')).toContainText(/^Round \d+ was kept: the averaged update improved/);
  await expect(kept).toContainText(/of 288\.0 KB raw, \d+\.\d×/);
  await expect(page.getByTestId('contribute-notice')).toHaveCount(0); // trained on WebGPU, no CPU fallback
  await expect(page.getByTestId('balance')).not.toHaveAttribute('data-balance', /^(0|)$/);
  // The verdict refreshed the leaderboard: the contributor is on it now.
  await expect(page.locator(`[data-testid="leader"][data-address="${address}"]`)).toBeVisible();
  expect(net.log.filter((p) => /^\/v1\/rounds\/\d+\/deltas$/.test(p))).not.toHaveLength(0);

  // The new head is the round's block, authored by the relay's evaluator key (which signed the verdict), not by the contributor.
  expect((await slotHeads(net.url))[slot]).toBe(block);
  expect((await header(net.url, block)).author).not.toBe(address);

  // The reader's next answer fetches and verifies the new version.
  expect(Object.keys(first.stats.expertBlocks), `the prompt must route to ${slot} for this check`).toContain(slot);
  const mark = net.log.length;
  const second = await reader.ask(PROMPT);
  expect(second.stats.expertBlocks[slot]).toBe(block);
  expect(payloadHashesIn(net.log.slice(mark))).toContain(block);

  // Logout ends the session: the page offers sign-in again and the relay no longer knows the cookie.
  await page.getByTestId('logout').click();
  await expect(page.getByTestId('login')).toBeEnabled();
  expect(await page.evaluate(async (relay) => (await fetch(`${relay}/v1/auth/me`, { credentials: 'include' })).status, net.url)).toBe(401);
  await readerContext.close();
  await contributorContext.close();
});

/** A block's header, as the relay serves it. */
async function header(relayUrl: string, block: string): Promise<{ author: string; sig: Hex }> {
  return ((await (await fetch(`${relayUrl}/v1/blocks/${block}`)).json()) as { header: { author: string; sig: Hex } }).header;
}

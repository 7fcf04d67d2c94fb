import type { BrowserContext } from '@playwright/test';
import { shoot } from './screenshots.ts';
import { expect, test, testSigner } from './signed-in-app.ts';

/**
 * Two browser-extension wallets that announce themselves (EIP-6963) once "installed" (a flag in
 * localStorage, so the page first meets a browser without any): "Test Wallet", backed by a viem
 * key in the test (real signatures), with EIP-1193 events the test fires; and a second one.
 */
async function walletExtensions(context: BrowserContext): Promise<string> {
  const address = await testSigner(context);
  await context.addInitScript((address: string) => {
    if (localStorage.getItem('test.wallet-installed') === null) return;
    const w = window as unknown as { blyanTestSign(hex: string): Promise<string>; blyanWalletEmit(event: string, value: unknown): void };
    const listeners = new Map<string, Set<(v: unknown) => void>>();
    const provider = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address];
        if (method === 'personal_sign') return w.blyanTestSign(params![0] as string);
        throw new Error(`the test wallet does not do ${method}`);
      },
      on: (event: string, f: (v: unknown) => void) => void (listeners.get(event) ?? listeners.set(event, new Set()).get(event)!).add(f),
      removeListener: (event: string, f: (v: unknown) => void) => void listeners.get(event)?.delete(f),
    };
    w.blyanWalletEmit = (event, value) => listeners.get(event)?.forEach((f) => f(value));
    const other = { request: () => Promise.reject(new Error('locked')) };
    const icon = 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>';
    const announce = () => {
      for (const [rdns, name, p] of [['org.example.other', 'Other Wallet', other], ['org.blyan.test', 'Test Wallet', provider]] as const) {
        window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info: { uuid: rdns, name, icon, rdns }, provider: p }) }));
      }
    };
    window.addEventListener('eip6963:requestProvider', announce);
    announce();
  }, address);
  return address;
}

/**
 * The page as a newcomer walks through it, asserting what the person sees: the first-visit
 * explanation, the engine the app picked and why, a prompt, bad settings, an empty and a very long
 * message, the explorer's block detail, installing a wallet and signing in (EIP-6963), starting
 * and stopping Contribute, the wallet switching chain and account, and an offline reload.
 * With BLYAN_SCREENSHOTS=DIR it saves the README's first-visit, explorer and contribute screenshots there.
 */
test('a newcomer walks through the page: it explains itself, answers, guards its settings, opens blocks, signs in with a discovered wallet, contributes and stops, follows the wallet, and works offline', async ({ app, net, browser }) => {
  test.setTimeout(300_000);
  const url = `${app.url}/?relay=${encodeURIComponent(net.url)}`;
  const context = await browser.newContext();
  const address = await walletExtensions(context);
  const page = await context.newPage();
  const unauthorized: string[] = [];
  page.on('response', (r) => r.status() === 401 && unauthorized.push(new URL(r.url()).pathname));
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));

  // First visit: what this is, where the blocks come from, and nothing claimed of an answer yet.
  await page.goto(url);
  const intro = page.getByTestId('intro');
  await expect(intro).toContainText('The answer is computed on this device');
  await expect(intro).toContainText('Contribute (after signing in with an Ethereum wallet) lends this browser’s idle GPU');
  await expect(page.getByTestId('relay')).toHaveText(`Relay: ${net.url}`);
  await expect(page.getByTestId('no-wallet')).toHaveText(/^Signing in needs an Ethereum wallet in this browser: install a wallet extension such as MetaMask/);
  await expect(page.getByTestId('login')).toHaveCount(0);
  await expect(page.getByTestId('blocks-title')).toHaveText(/^Blocks loaded to start the model \(\d+\)$/);

  // While the model loads (and, on this SwiftShader-only machine, the engines are timed) Send is off and says why.
  await expect(page.getByTestId('send')).toBeDisabled();
  await expect(page.getByTestId('composer-hint')).toContainText('The model is loading');
  await expect(page.getByTestId('send')).toBeEnabled({ timeout: 90_000 });
  const notice = page.getByTestId('backend-notice');
  await expect(notice).toContainText('This device’s only WebGPU adapter is SwiftShader, software rather than a GPU. A short test decoded');
  const chosen = /so the model runs on (WebGPU|wasm|the CPU reference), the fastest here/.exec((await notice.textContent())!)![1]!;
  await expect(page.getByTestId('status')).toContainText(chosen === 'the CPU reference' ? 'CPU reference' : chosen);
  await expect(page.getByTestId('composer-hint')).toHaveCount(0);
  await shoot(page, 'first-visit');

  // Dismissed, the explanation stays away on the next visit and can be reopened.
  await page.getByTestId('intro-dismiss').click();
  await expect(intro).toHaveCount(0);

  // A prompt: the answer with its speed, and the blocks panel now speaks of this answer.
  await page.getByTestId('temperature').fill('0');
  await page.getByTestId('max-tokens').fill('6');
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('send').click();
  const first = page.getByTestId('answer').first();
  await expect(first.getByTestId('stats')).toContainText(/^6 tokens · \d+\.\d tokens\/s · first token \d+ ms/, { timeout: 90_000 });
  await expect(page.getByTestId('blocks-title')).toHaveText(/^Blocks this answer \(\d+\)$/);

  // Bad settings are refused in the field, with the bounds, and Send waits for a fix.
  await page.getByTestId('temperature').fill('-5');
  await expect(page.getByTestId('temperature-error')).toHaveText('Temperature must be from 0 to 2');
  await page.getByTestId('max-tokens').fill('100000');
  await expect(page.getByTestId('max-tokens-error')).toHaveText('Max tokens must be from 1 to 512');
  await expect(page.getByTestId('send')).toBeDisabled();
  await expect(page.getByTestId('composer-hint')).toHaveText('Fix the settings marked in red first.');
  await page.getByTestId('temperature').fill('0');
  await page.getByTestId('max-tokens').fill('6');
  await expect(page.getByTestId('send')).toBeEnabled();

  // An empty message gets a word, not silence.
  await page.getByTestId('prompt').fill('   ');
  await page.getByTestId('send').click();
  await expect(page.getByTestId('composer-hint')).toHaveText('Type some text first: the model continues what you write.');
  await expect(page.getByTestId('question')).toHaveCount(1);

  // A very long message is folded, and the answer says what of it the model read.
  const long = 'The quick brown fox jumps over the lazy dog while the river runs on. '.repeat(80).slice(0, 5000);
  await page.getByTestId('prompt').fill(long);
  await page.getByTestId('send').click();
  const question = page.getByTestId('question').nth(1);
  await expect(question.getByTestId('question-fold')).toHaveText('Show all 5,000 characters');
  await expect(question.locator('span')).toHaveText(`${long.slice(0, 600)}…`);
  const second = page.getByTestId('answer').nth(1);
  await expect(second.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(second.getByTestId('answer-note').first()).toHaveText(/^Your message is [\d,]+ tokens long; the model reads at most \d+ tokens, so it continued only the last \d+ tokens and did not see the rest\.$/);

  // Clear history asks first; keeping keeps everything.
  await page.getByTestId('clear-history').click();
  await expect(page.getByTestId('clear-history-confirm')).toContainText('Delete all 4 messages?');
  await page.getByRole('button', { name: 'Keep' }).click();
  await expect(page.getByTestId('answer')).toHaveCount(2);

  // The explorer: the chains explained, counted in good English, and a block opened from its row.
  await page.getByRole('link', { name: 'Explorer' }).click();
  const cards = page.getByTestId('cards');
  await expect(cards).toContainText('The model’s spec and tokenizer, and who may sign and judge blocks.');
  await expect(cards).toContainText('The weights: one block per expert or dense part');
  await expect(cards).toContainText('Keys that signed blocks');
  await expect(cards).toContainText(/Parameter DAG B\d+ blocks/);
  await expect(page.getByTestId('explorer')).not.toContainText(/\b1 blocks\b/);
  const row = page.getByTestId('block-row').first();
  const hash = (await row.locator('td[title]').first().getAttribute('title'))!;
  await row.click();
  const detail = page.getByTestId('block-detail');
  await expect(detail).toHaveAttribute('data-hash', hash);
  await expect(detail).toContainText(hash);
  await expect(page.getByTestId('block-signature')).toContainText('signed by');
  await expect(page.getByTestId('block-tiles')).toContainText('rebuild the header’s Merkle root');
  await expect(page.getByTestId('block-verdict')).not.toBeEmpty();
  await expect(page).toHaveURL(new RegExp(`#/explorer/block/${hash}$`));
  await shoot(page, 'explorer');

  // Signed out so far, the page never asked the relay for a session it does not have.
  expect(unauthorized).toEqual([]);
  expect(consoleErrors.filter((e) => e.includes('401'))).toEqual([]);

  // Installing wallets: after a reload both announce themselves; the user picks one and signs in.
  await page.evaluate(() => {
    localStorage.setItem('test.wallet-installed', '1');
    location.hash = '#/contribute';
  });
  await page.reload();
  await expect(page.getByTestId('intro')).toHaveCount(0);
  await expect(page.getByTestId('intro-open')).toBeVisible();
  await expect(page.getByTestId('contribute-status')).toHaveText('Off. Sign in (top right) to contribute.');
  await expect(page.getByTestId('wallet').locator('option')).toHaveText(['Other Wallet', 'Test Wallet']);
  await page.getByTestId('wallet').selectOption({ label: 'Test Wallet' });
  await page.getByTestId('login').click();
  await expect(page.getByTestId('account')).toHaveAttribute('data-address', address, { timeout: 30_000 });
  await expect(page.getByTestId('usage-explained')).toContainText('credit the authors of the experts that computed the answers');
  await expect(page.getByTestId('contribute-status')).toHaveText('Off. Tick the box above to start contributing.');

  // Contribute: it prepares, then trains; unticked, the status follows at once and never says training again.
  await page.getByTestId('contribute-switch').check();
  await expect(page.getByTestId('unit')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('contribute-status')).toContainText('preparing to train', { timeout: 60_000 });
  await shoot(page, 'contribute');
  await page.getByTestId('contribute-switch').uncheck();
  await expect(page.getByTestId('contribute-status')).toHaveText(/^(Stopping: the step in progress finishes|Off\. Tick the box above)/);
  await expect(page.getByTestId('contribute-status')).toHaveText('Off. Tick the box above to start contributing.', { timeout: 120_000 });

  // The wallet switches chain (the session goes on, and says so), then account (the session ends, and says why).
  await page.evaluate(() => (window as unknown as { blyanWalletEmit(e: string, v: unknown): void }).blyanWalletEmit('chainChanged', '0x89'));
  await expect(page.getByTestId('wallet-note')).toHaveText('Your wallet switched to chain 137. Blyan only asks your wallet to sign messages, never to send transactions, so you stay signed in.');
  await page.evaluate(() => (window as unknown as { blyanWalletEmit(e: string, v: unknown): void }).blyanWalletEmit('accountsChanged', ['0x0000000000000000000000000000000000000b0b']));
  await expect(page.getByTestId('login-error')).toContainText('Your wallet switched to account 0x00000000…, so');
  await expect(page.getByTestId('login')).toBeEnabled();

  // Offline: with the relay and the app server gone, a reload still answers from this browser's blocks.
  await page.evaluate(async () => void (await navigator.serviceWorker.ready));
  await net.close();
  await app.close();
  await page.getByRole('link', { name: 'Chat' }).click();
  await page.reload();
  await expect(page.getByTestId('send')).toBeEnabled({ timeout: 90_000 });
  await expect(page.getByTestId('offline')).toHaveText('The relay is unreachable: answering from cached blocks.');
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('send').click();
  await expect(page.getByTestId('answer').nth(2).getByTestId('stats')).toContainText('0 B downloaded', { timeout: 90_000 });
  await context.close();
});

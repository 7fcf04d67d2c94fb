import { type Browser, type BrowserContext, type Page, expect } from '@playwright/test';
import { testSigner } from './signed-in-app.ts';

/** An EIP-1193 provider in the page, its signatures by the test's key; its lowercase address. */
export async function injectWallet(context: BrowserContext): Promise<string> {
  const address = await testSigner(context);
  await context.addInitScript((address: string) => {
    const w = window as unknown as { ethereum: unknown; blyanTestSign(hex: string): Promise<string> };
    w.ethereum = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address];
        if (method === 'personal_sign') return w.blyanTestSign(params![0] as string);
        throw new Error(`the test wallet does not do ${method}`);
      },
    };
  }, address);
  return address;
}

/** A new browser context with the test wallet, signed in on `url`'s page `route` (e.g. `#/data`). */
export async function signedIn(browser: Browser, url: string, route: string): Promise<{ context: BrowserContext; page: Page; address: string }> {
  const context = await browser.newContext();
  const address = await injectWallet(context);
  const page = await context.newPage();
  await page.goto(`${url}${route}`);
  await page.getByTestId('login').click();
  await expect(page.getByTestId('account')).toHaveAttribute('data-address', address, { timeout: 30_000 });
  return { context, page, address };
}

import { join } from 'node:path';
import type { Page } from '@playwright/test';

/** With BLYAN_SCREENSHOTS=DIR (e.g. docs), the specs that show the README's views save them there as screenshot-NAME.png. */
export async function shoot(page: Page, name: string): Promise<void> {
  const dir = process.env.BLYAN_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, `screenshot-${name}.png`) });
}

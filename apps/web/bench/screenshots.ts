/**
 * Takes docs/screenshot-chat.png (mid-answer) and docs/screenshot-explorer.png:
 * `pnpm --filter @blyan/web build && pnpm exec tsx apps/web/bench/screenshots.ts`.
 */
import { join } from 'node:path';
import { ChatPage } from '../e2e/chat-page.ts';
import { ROOT } from '../e2e/paths.ts';
import { openSession } from './session.ts';

const DOCS = join(ROOT, 'docs');

const s = await openSession();
try {
  const expertSlot = 'layer0.expert1';
  const ctx = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const chat = new ChatPage(await ctx.newPage(), s.chatUrl);
  await chat.open();
  await chat.settings({ maxTokens: 120, temperature: 0.8 });
  await chat.page.getByTestId('prompt').fill('Fellow-citizens of the Senate and House of Representatives, the state of the Union');
  await chat.page.getByTestId('send').click();
  // Mid-answer: some text streamed, the answer not finished.
  await chat.page.waitForFunction(() => {
    const answers = document.querySelectorAll('[data-testid="answer"]');
    const last = answers[answers.length - 1];
    return (last?.querySelector('span')?.textContent?.length ?? 0) > 40 && !last?.querySelector('[data-testid="stats"]');
  });
  await chat.page.screenshot({ path: `${DOCS}/screenshot-chat.png` });
  await chat.page.getByTestId('send').waitFor({ timeout: 120_000 });

  // A second version of one expert (its weights negated: it shows in the explorer, not in the chat above).
  await s.relay.publishExpert(expertSlot);

  await chat.page.goto(`${chat.url}#/explorer`);
  await chat.page.getByRole('button', { name: expertSlot, exact: true }).click();
  await chat.page.getByText(`${expertSlot}: 2 versions`).waitFor();
  await chat.page.screenshot({ path: `${DOCS}/screenshot-explorer.png` });
  console.log(`wrote ${DOCS}/screenshot-chat.png and ${DOCS}/screenshot-explorer.png (${s.model})`);
} finally {
  await s.close();
}

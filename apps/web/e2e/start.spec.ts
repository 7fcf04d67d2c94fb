import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { greedyDecode } from '@blyan/model';
import { throughBlocks } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { shoot } from './screenshots.ts';
import { ChatPage, expect, test } from './fixtures.ts';
import { GENESIS_CHECKPOINT } from './paths.ts';
import { awaitLine, spawnTsx, stopProcess } from './relay-process.ts';

const PROMPT = 'The state of the Union';
const TOKENS = 16;

/** `blyan serve --app apps/web/dist`, as `pnpm start` runs it, on a fresh store; resolves once the app is served. */
async function startProduct(store: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTsx(['relay/src/cli.ts', 'serve', '--app', 'apps/web/dist', '--store', store, '--port', '0']);
  const url = await awaitLine(child, 'blyan serve', (line) => /^web app: open (\S+)\/ /.exec(line)?.[1]);
  return { url, child };
}

/** What the genesis model says to PROMPT at temperature 0 on the CPU reference, from the int8 expert blocks the relay serves. */
function referenceAnswer(): string {
  const { config, tokenizer, params } = readCheckpoint(GENESIS_CHECKPOINT);
  const blocks = throughBlocks(config, params, 'int8').params;
  return tokenizer.decode(greedyDecode(blocks, config, tokenizer.encode(PROMPT), TOKENS).tokens);
}

test('the product as `pnpm start` serves it: the page and the relay on one origin, the genesis chain seeded, and the genesis model answers on WebGPU as the CPU reference does', async ({ page }) => {
  const store = await mkdtemp(join(tmpdir(), 'blyan-start-'));
  const { url, child } = await startProduct(store);
  try {
    const origins = new Set<string>();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    const chat = new ChatPage(page, `${url}/`);
    await chat.open();
    await page.getByTestId('intro-dismiss').click();
    await chat.settings({ routing: 'dynamic', temperature: 0, maxTokens: TOKENS });
    const { answer, stats } = await chat.ask(PROMPT);
    await expect(page.getByTestId('status')).toContainText('WebGPU');
    await shoot(page, 'chat');
    expect(stats.tokens).toBe(TOKENS);
    expect(answer).toBe(referenceAnswer());
    expect([...origins]).toEqual([url]);
  } finally {
    await stopProcess(child);
    await rm(store, { recursive: true, force: true });
  }
});

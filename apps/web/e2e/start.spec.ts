import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { type ParamMap, greedyDecode } from '@blyan/model';
import { encodeSlotPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { ChatPage, DIST, expect, test } from './fixtures.ts';

const ROOT = resolve(DIST, '../../..');
const PROMPT = 'The state of the Union';
const TOKENS = 16;

/** `blyan serve --app apps/web/dist`, as `pnpm start` runs it, on a fresh store; resolves once the app is served. */
async function startProduct(store: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['relay/src/cli.ts', 'serve', '--app', 'apps/web/dist', '--store', store, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^web app: open (\S+)\/ /.exec(line);
      if (m) done(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`blyan serve exited with ${code}: ${stderr}`)));
  });
  return { url, child };
}

/** What the genesis model says to PROMPT at temperature 0 on the CPU reference, from the int8 expert blocks the relay serves. */
function referenceAnswer(): string {
  const { config, tokenizer, params } = readCheckpoint(join(ROOT, 'public/genesis/checkpoint.tensors'));
  const blocks: ParamMap = {};
  for (const slot of slotPlan(config)) Object.assign(blocks, slotParams(slot, encodeSlotPayload(slot, params, 'int8')));
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
    await chat.settings({ routing: 'dynamic', temperature: 0, maxTokens: TOKENS });
    const { answer, stats } = await chat.ask(PROMPT);
    await expect(page.getByTestId('status')).toContainText('WebGPU');
    expect(stats.tokens).toBe(TOKENS);
    expect(answer).toBe(referenceAnswer());
    expect([...origins]).toEqual([url]);
  } finally {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
    await rm(store, { recursive: true, force: true });
  }
});

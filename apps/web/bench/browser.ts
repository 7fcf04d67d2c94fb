/**
 * Browser benchmark of apps/web in the machine's Chromium (WebGPU on SwiftShader here):
 * `pnpm --filter @blyan/web build && pnpm exec tsx apps/web/bench/browser.ts`. Prints the cold start
 * and the share of it the trust check takes (every head walked back to the pinned genesis), time to
 * first token cold (empty cache, everything from the relay) with the parts of both (the worker's
 * phases: GPU device, pipeline compilation, trust check, transfer and verification, router probe,
 * IndexedDB, GPU upload, prefill; phases may overlap), warm from IndexedDB (after a reload)
 * and warm in memory (next prompt), BlockCache.get p50/p95 per expert, verification MB/s, and
 * selective loading (selective.ts): cold start, cold time to first token, bytes and experts per
 * prompt, genesis v1 (dynamic) against v2 (default budget, low bandwidth, dynamic) in the same run.
 */
import { ChatPage } from '../e2e/chat-page.ts';
import type { TrustCheck } from '../src/protocol.ts';
import { compareGenesis } from './selective.ts';
import { openSession } from './session.ts';

const PROMPTS = ['The router picks two experts', 'Once upon a time there was a', 'Numbers and punctuation, too:', 'A chain of blocks can hold', 'Idle graphics processors train'];
const MAX_TOKENS = 32;

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const kb = (x: number) => `${(x / 1024).toFixed(1)} KB`;

const s = await openSession();
try {
  const row = (k: string, v: string) => console.log(`| ${k} | ${v} |`);
  console.log(`model: ${s.model}; Chromium ${s.browser.version()}; ${MAX_TOKENS} tokens per answer, greedy\n`);
  console.log('| measure | value |\n| --- | --- |');

  // Time to first token: cold, warm from IndexedDB after a reload, warm in memory.
  const ctx = await s.browser.newContext();
  const chat = new ChatPage(await ctx.newPage(), s.chatUrl);
  const started = performance.now();
  await chat.open();
  const coldStart = performance.now() - started;
  const trust = JSON.parse((await chat.page.getByTestId('trust').getAttribute('data-trust'))!) as TrustCheck;
  const startup = JSON.parse((await chat.page.getByTestId('status').getAttribute('data-startup'))!) as { ms: number; parts: Record<string, number> };
  await chat.settings({ temperature: 0, maxTokens: MAX_TOKENS });
  const cold = await chat.ask(PROMPTS[0]!);
  await chat.page.reload();
  await chat.open();
  const fromDisk = await chat.ask(PROMPTS[0]!);
  const inMemory = await chat.ask(PROMPTS[0]!);
  const backend = (await chat.page.getByTestId('status').textContent())?.includes('WebGPU') ? 'WebGPU' : 'CPU reference';
  row('cold start (page load until the model is ready: the meta and dense blocks fetched and verified)', ms(coldStart));
  row(`trust check in that cold start (${trust.blocks} blocks walked back to the pinned genesis: hash, signature, authority or verdict)`, `${ms(trust.ms)} (${((100 * trust.ms) / coldStart).toFixed(1)} % of cold start)`);
  row('of which the model worker, from init to ready', ms(startup.ms));
  for (const [phase, t] of Object.entries(startup.parts)) row(`… cold start part: ${phase}`, ms(t));
  row(`time to first token, cold (${kb(cold.stats.bytesDownloaded)} from the relay, ${backend})`, ms(cold.stats.ttftMs));
  for (const [phase, t] of Object.entries(cold.stats.ttftParts)) row(`… first token part: ${phase}`, ms(t));
  row('time to first token, warm from IndexedDB (after a reload)', ms(fromDisk.stats.ttftMs));
  row('time to first token, warm in memory (next prompt)', ms(inMemory.stats.ttftMs));
  const decodeRate = (a: typeof inMemory) => `${((a.stats.tokens - 1) / ((a.stats.totalMs - a.stats.ttftMs) / 1000)).toFixed(1)} tokens/s`;
  row(`decode speed, warm (${backend})`, decodeRate(inMemory));
  // The other engines on the same page and cache: a new worker loads the model from IndexedDB.
  for (const [engine, label] of [['wasm', 'onnxruntime-web wasm'], ['cpu', 'CPU reference']] as const) {
    await chat.page.getByTestId('backend').selectOption(engine);
    await chat.open();
    await chat.ask(PROMPTS[0]!);
    const warm = await chat.ask(PROMPTS[0]!);
    row(`time to first token, warm in memory, ${label}`, ms(warm.stats.ttftMs));
    row(`decode speed, warm, ${label}`, decodeRate(warm));
  }
  await chat.page.getByTestId('backend').selectOption('auto');

  // BlockCache.get per expert block, on the bench page (same origin, same IndexedDB).
  const experts = Object.entries(cold.stats.expertBlocks).map(([, h]) => h);
  const bench = await ctx.newPage();
  await bench.goto(`${s.app.url}/bench.html`);
  await bench.waitForFunction(() => 'blyanBench' in window);
  const loads = await bench.evaluate(({ hashes }) => (window as unknown as { blyanBench: { cacheLoads(h: string[], r: number): Promise<number[]> } }).blyanBench.cacheLoads(hashes, 10), { hashes: experts });
  row(`expert load from IndexedDB (${experts.length} experts × 10), p50 / p95`, `${ms(quantile(loads, 0.5))} / ${ms(quantile(loads, 0.95))}`);
  const mbps = await bench.evaluate(() => (window as unknown as { blyanBench: { verifyMBps(mb: number): Promise<number> } }).blyanBench.verifyMBps(32));
  row('tile verification in the page (32 MiB in 64 KiB tiles: leaves against the root, each tile against its leaf)', `${mbps.toFixed(0)} MB/s`);
  await ctx.close();

  // Selective loading: genesis v1's dynamic routing against v2's budgets, each prompt in a fresh profile.
  await compareGenesis(s.browser, s, PROMPTS, MAX_TOKENS, [{ bytesPerSecond: 2.5e6, latencyMs: 20 }]);
} finally {
  await s.close();
}

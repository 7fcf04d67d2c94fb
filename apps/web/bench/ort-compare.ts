/**
 * This engine against onnxruntime-web in one headless Chromium (the machine's, WebGPU on
 * SwiftShader here): `pnpm bench:ort` (builds the app first). The committed genesis checkpoint
 * through the blocks' int8 expert encoding, the same weights on every backend: this engine
 * (WebGPU), onnxruntime-web's WebGPU execution provider (its WebGPU bundle) and its wasm backend
 * (the app's own OrtRunner) on the repository's routed ONNX graph (every parameter an input, no KV
 * cache: each token runs the whole sequence). Each backend runs in its own page (its own bundle),
 * its onnxruntime files served by the app, nothing downloaded. Prints first token, decode
 * tokens/s, prefills of 16 to 256 tokens and one expert's training micro-step, and fails unless
 * every backend gives the same greedy tokens. `pnpm bench:ort BASELINE_DIST` also runs the engine
 * of another build of the app (say the parent commit's `vite build` output) as a baseline row in
 * the same browser; `--no-webgpu-ep` leaves out the WebGPU EP (about a minute an answer here);
 * `--runs=N` times N answers and prefills of the engine and wasm instead of 3.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { CHROMIUM } from '../e2e/chromium.ts';
import { DIST, GENESIS_CHECKPOINT } from '../e2e/paths.ts';
import { serveStatic } from '../e2e/static-server.ts';
import type { Backend, Measured } from '../src/compare-page.ts';

const PROMPT_TOKENS = 16;
const COUNT = 32;
const PREFILLS = [16, 48, 128, 256];
const args = process.argv.slice(2);
/** `--runs=N`: timed answers and prefills of the engine and wasm (medians; more steady the busier the machine). */
const runsArg = args.find((a) => a.startsWith('--runs='));
const engineRuns = runsArg ? Number(runsArg.slice('--runs='.length)) : 3;
if (!Number.isSafeInteger(engineRuns) || engineRuns < 1) throw new Error(`--runs=N needs a positive integer, got ${runsArg}`);
/** Timed answers and prefills per backend (the WebGPU EP takes about a minute an answer here: one). */
const RUNS: Record<Backend, number> = { engine: engineRuns, 'ort-wasm': engineRuns, 'ort-webgpu': 1 };
const LABEL: Record<Backend, string> = {
  engine: 'this engine, WebGPU',
  'ort-webgpu': 'onnxruntime-web WebGPU EP, routed graph',
  'ort-wasm': 'onnxruntime-web wasm, routed graph (no KV cache)',
};
const TEXT = 'Once upon a time there was a little village by the sea, where the fishermen sang to the tide every morning';

if (!existsSync(join(DIST, 'compare.html'))) throw new Error(`no build in ${DIST}: run pnpm --filter @blyan/web build`);
const { config: cfg, tokenizer } = readCheckpoint(GENESIS_CHECKPOINT);
const prompt = tokenizer.encode(TEXT).slice(0, PROMPT_TOKENS);
if (prompt.length < PROMPT_TOKENS) throw new Error(`the prompt text encodes to ${prompt.length} tokens, fewer than ${PROMPT_TOKENS}`);
const B = 2;
const T = 32;
const stream = tokenizer.encode(TEXT.repeat(4));
const batch = { B, T, tokens: Array.from({ length: B * T }, (_, i) => stream[i % stream.length]!), targets: Array.from({ length: B * T }, (_, i) => stream[(i + 1) % stream.length]!) };
const checkpoint = readFileSync(GENESIS_CHECKPOINT);

const baselineDist = args.find((a) => !a.startsWith('--'));
if (baselineDist && !existsSync(join(baselineDist, 'compare.html'))) throw new Error(`no compare.html in the baseline build ${baselineDist}`);
const app = await serveStatic(DIST);
const baseline = baselineDist ? await serveStatic(baselineDist) : null;
/** Each row: a backend of a build. */
const rows: { readonly label: string; readonly url: string; readonly backend: Backend }[] = [
  { label: LABEL.engine, url: app.url, backend: 'engine' },
  ...(baseline ? [{ label: `this engine, baseline build (${baselineDist})`, url: baseline.url, backend: 'engine' as const }] : []),
  { label: LABEL['ort-wasm'], url: app.url, backend: 'ort-wasm' },
  ...(args.includes('--no-webgpu-ep') ? [] : [{ label: LABEL['ort-webgpu'], url: app.url, backend: 'ort-webgpu' as const }]),
];
const browser = await chromium.launch({ ...CHROMIUM, headless: true });
const results: (Measured & { readonly label: string })[] = [];
try {
  for (const { label, url, backend } of rows) {
    const page = await browser.newPage();
    await page.route('**/checkpoint.tensors', (route) => route.fulfill({ body: checkpoint, contentType: 'application/octet-stream' }));
    await page.goto(`${url}/compare.html`);
    await page.waitForFunction(() => 'blyanCompare' in window);
    const options = { prompt, count: COUNT, prefills: PREFILLS, runs: RUNS[backend], batch };
    process.stderr.write(`${label}…\n`);
    results.push({
      label,
      ...(await page.evaluate(
        ([b, o]) => (window as unknown as { blyanCompare: { run(b: Backend, url: string, o: unknown): Promise<Measured> } }).blyanCompare.run(b, '/checkpoint.tensors', o),
        [backend, options] as const,
      )),
    });
    await page.close();
  }
} finally {
  await browser.close();
  await app.close();
  await baseline?.close();
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const engine = results[0]!;
const ratio = (engineMs: number, otherMs: number) => `${(otherMs / engineMs).toFixed(2)}×`;
console.log(`genesis-v2 (${cfg.nLayers} layers, ${cfg.nExperts} experts, top-${cfg.topK}, d=${cfg.dModel}), int8 experts; ${PROMPT_TOKENS}-token prompt, ${COUNT} greedy tokens, dynamic routing; training: one expert, batch ${B} × ${T}\n`);
console.log(`| backend | setup | first token | decode | ${PREFILLS.map((n) => `prefill ${n}`).join(' | ')} | training micro-step |`);
console.log(`| --- | --- | --- | --- | ${PREFILLS.map(() => '---').join(' | ')} | --- |`);
for (const r of results) {
  const train = typeof r.trainMs === 'number' ? ms(r.trainMs) : r.trainMs;
  console.log(`| ${r.label} | ${ms(r.setupMs)} | ${ms(r.firstTokenMs)} | ${r.decodeTokensPerSecond.toFixed(1)} tok/s | ${PREFILLS.map((n) => ms(r.prefillMs[n]!)).join(' | ')} | ${train} |`);
}
console.log('\nthe others against this engine (their time ÷ the engine’s; above 1×: the engine is faster)\n');
console.log(`| backend | first token | decode | ${PREFILLS.map((n) => `prefill ${n}`).join(' | ')} | training |`);
console.log(`| --- | --- | --- | ${PREFILLS.map(() => '---').join(' | ')} | --- |`);
for (const r of results.slice(1)) {
  const train = typeof r.trainMs === 'number' && typeof engine.trainMs === 'number' ? ratio(engine.trainMs, r.trainMs) : 'n/a';
  console.log(`| ${r.label} | ${ratio(engine.firstTokenMs, r.firstTokenMs)} | ${(engine.decodeTokensPerSecond / r.decodeTokensPerSecond).toFixed(2)}× | ${PREFILLS.map((n) => ratio(engine.prefillMs[n]!, r.prefillMs[n]!)).join(' | ')} | ${train} |`);
}
const differing = results.filter((r) => r.tokens.join() !== engine.tokens.join());
console.log(`\ngreedy tokens: ${differing.length === 0 ? `all ${results.length} backends equal` : 'DIFFER'} (${JSON.stringify(tokenizer.decode(engine.tokens))})`);
if (differing.length > 0) {
  for (const r of differing) console.error(`${r.label}: ${JSON.stringify(tokenizer.decode(r.tokens))}`);
  process.exitCode = 1;
}

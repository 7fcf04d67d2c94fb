/**
 * The page's cold start and cold time to first token, with their parts, against a baseline build in
 * the same run: `pnpm bench:cold [BASELINE_DIST] [--wait-ms=N]` (builds the app first). BASELINE_DIST is another
 * commit's built apps/web/dist (e.g. `git archive <commit>` unpacked, `vite build` there); both
 * builds are pinned to one relay founded from the committed genesis checkpoint and run alternately,
 * each cold in a fresh browser profile (empty cache), on WebGPU: page load until Send is enabled,
 * then one prompt (sent at once, or N ms after Send is enabled: a person typing, while the
 * page compiles what it left for after the start) and a 32-token greedy answer. Prints medians; the parts are the worker's phases
 * (they may overlap, so they need not add up), and what the download planner fetched and why: the
 * prompt's experts (before the first token), those predicted from its router mass (prefetched while
 * answering) and those a token needed on demand.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium } from '@playwright/test';
import type { FetchReason } from '../src/protocol.ts';
import { CHROMIUM } from '../e2e/chromium.ts';
import { DIST, GENESIS_CHECKPOINT } from '../e2e/paths.ts';
import { pinnedDist } from '../e2e/pinned-dist.ts';
import { startRelay } from '../e2e/relay-process.ts';
import { serveStatic } from '../e2e/static-server.ts';
import { coldOpen } from './session.ts';
import { median } from '../../../relay/bench/stats.ts';

const ROUNDS = 7;
const PROMPT = 'The router picks two experts';
const MAX_TOKENS = 32;

interface Cold {
  startMs: number;
  ttftMs: number;
  startParts: Record<string, number>;
  /** How long the WebGPU pipelines left for after the start took to compile (builds that compile them before it: none). */
  compiledMs: number | undefined;
  ttftParts: Record<string, number>;
  totalMs: number;
  /** Experts downloaded, by the planner's reason. */
  fetched: Record<FetchReason, number>;
  answer: string;
}

async function coldRun(browser: Browser, chatUrl: string): Promise<Cold> {
  const { chat, startMs, context } = await coldOpen(browser, chatUrl);
  try {
    const startup = await chat.page.getByTestId('status').getAttribute('data-startup');
    await chat.settings({ temperature: 0, maxTokens: MAX_TOKENS });
    await chat.page.waitForTimeout(waitMs);
    const { stats, answer, plan } = await chat.ask(PROMPT);
    const after = await chat.page.getByTestId('status').getAttribute('data-startup');
    const fetched = (reason: FetchReason) => plan.filter((f) => f.reason === reason && f.source === 'network').length;
    return {
      startMs,
      ttftMs: stats.ttftMs,
      startParts: startup ? (JSON.parse(startup) as { parts: Record<string, number> }).parts : {},
      compiledMs: after ? (JSON.parse(after) as { compiledMs?: number }).compiledMs : undefined,
      ttftParts: stats.ttftParts ?? {},
      totalMs: stats.totalMs,
      fetched: { prompt: fetched('prompt'), predicted: fetched('predicted'), 'on-demand': fetched('on-demand') },
      answer,
    };
  } finally {
    await context.close();
  }
}

const ms = (x: number | undefined) => (x === undefined ? '–' : `${Math.round(x)} ms`);
const count = (x: number | undefined) => (x === undefined ? '–' : String(x));

/** `--wait-ms=N`: the prompt is sent N ms after Send is enabled (default: at once). */
const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'wait-ms': { type: 'string', default: '0' } } });
const baselineDist = positionals[0];
const waitMs = Number(values['wait-ms']);
if (!Number.isSafeInteger(waitMs) || waitMs < 0) throw new Error(`--wait-ms=N needs a non-negative integer, got ${values['wait-ms']}`);
if (!existsSync(join(DIST, 'index.html'))) throw new Error(`no build in ${DIST}: run pnpm --filter @blyan/web build`);
if (baselineDist !== undefined && !existsSync(join(baselineDist, 'index.html'))) throw new Error(`no build in ${baselineDist}`);
const relay = await startRelay(GENESIS_CHECKPOINT);
const builds = [...(baselineDist ? [{ label: `baseline (${baselineDist})`, dist: baselineDist }] : []), { label: 'this build', dist: DIST }];
const served = await Promise.all(
  builds.map(async (b) => {
    const pinned = await pinnedDist(b.dist);
    await pinned.pin(relay.genesis, await relay.genesisHeaders());
    const app = await serveStatic(pinned.dir);
    return { ...b, pinned, app, runs: [] as Cold[] };
  }),
);
const browser = await chromium.launch({ ...CHROMIUM, headless: true });
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of served) {
      s.runs.push(await coldRun(browser, `${s.app.url}/?relay=${encodeURIComponent(relay.url)}`));
      process.stderr.write(`${s.label} round ${r + 1}: start ${ms(s.runs.at(-1)!.startMs)}, first token ${ms(s.runs.at(-1)!.ttftMs)}\n`);
    }
  }
} finally {
  await browser.close();
  for (const s of served) {
    await s.app.close();
    await s.pinned.remove();
  }
  await relay.stop();
}

const answers = new Set(served.flatMap((s) => s.runs.map((r) => r.answer)));
console.log(`genesis v2 over loopback, WebGPU (SwiftShader), ${ROUNDS} cold runs per build, alternating, the prompt sent ${waitMs === 0 ? 'as soon as' : `${waitMs} ms after`} Send was enabled; medians; answers ${answers.size === 1 ? 'identical' : 'DIFFER'}\n`);
console.log(`| measure | ${served.map((s) => s.label).join(' | ')} |`);
console.log(`| --- | ${served.map(() => '---').join(' | ')} |`);
const row = (label: string, of: (c: Cold) => number | undefined, unit = ms) => {
  const cells = served.map((s) => {
    const xs = s.runs.map(of).filter((x): x is number => x !== undefined);
    return xs.length ? `${unit(median(xs))} (${unit(Math.min(...xs))}–${unit(Math.max(...xs))})` : '–';
  });
  console.log(`| ${label} | ${cells.join(' | ')} |`);
};
row('cold start (page load until Send is enabled)', (c) => c.startMs);
const startPhases = [...new Set(served.flatMap((s) => s.runs.flatMap((r) => Object.keys(r.startParts))))];
for (const p of startPhases) row(`… start part: ${p}`, (c) => c.startParts[p]);
row('WebGPU pipelines compiled after the start (their compile, in the background or after the first token)', (c) => c.compiledMs);
row('cold time to first token', (c) => c.ttftMs);
const ttftPhases = [...new Set(served.flatMap((s) => s.runs.flatMap((r) => Object.keys(r.ttftParts))))];
for (const p of ttftPhases) row(`… first token part: ${p}`, (c) => c.ttftParts[p]);
row(`whole answer (${MAX_TOKENS} tokens)`, (c) => c.totalMs);
row('cold start + whole answer (their sum: page load to the last token, less the wait before sending)', (c) => c.startMs + c.totalMs);
row('experts downloaded for the prompt (before the first token)', (c) => c.fetched.prompt, count);
row('… predicted from its router mass (prefetched while answering)', (c) => c.fetched.predicted, count);
row('… on demand (a token needed one)', (c) => c.fetched['on-demand'], count);
if (answers.size !== 1) process.exitCode = 1;

/**
 * `pnpm bench:data`: the data hub's gates on the seed corpus (SpamAssassin message bodies).
 * L0 in Node (pure and through the relay's store) and in Chromium (the Data page's code on the
 * bench page), against a baseline of only cutting, decoding and addressing the documents; L1 on
 * the committed genesis model through onnxruntime-node; the dedup ratio of the corpus uploaded
 * twice; and dataset-v1 payload size against the raw text.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { DEFAULT_TIERS, countTiers, docHash, encodeDatasetPayload, inflatedSize, joinDocuments, MAX_BLOCK_TEXT, packParts, prefilter, splitDocuments, tierOf } from '@blyan/data';
import { decodeCheckpoint } from '@blyan/model/checkpoint';
import { OnnxModel } from '@blyan/model/onnx';
import { accountsPath, openAccountsDb } from '../../../relay/src/accounts/db.ts';
import { DEFAULT_DATA_CONFIG } from '../../../relay/src/data/config.ts';
import { checkUpload, storeUpload } from '../../../relay/src/data/intake.ts';
import { documentBpb } from '../../../relay/src/data/scoring.ts';
import { SPAM_ASSASSIN, spamAssassinTexts } from '../../../relay/src/data/seed-corpus.ts';
import { DataStore } from '../../../relay/src/data/store.ts';
import { Journal } from '../../../relay/src/rewards/journal.ts';
import { CHROMIUM } from '../e2e/chromium.ts';
import { DIST, GENESIS_CHECKPOINT } from '../e2e/paths.ts';
import { serveStatic } from '../e2e/static-server.ts';
import { median } from '../../../relay/bench/stats.ts';

const DOCS = 1000;
const L1_DOCS = 40;
const MB = 1e6;
const rows: [string, string][] = [];
const row = (what: string, value: string) => {
  rows.push([what, value]);
  console.log(`${what}: ${value}`);
};

/** Seconds `fn` takes: one warm-up, then the median of `runs` timed calls. */
function timed(fn: () => unknown, runs = 3): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  return median(t) / 1000;
}

const rate = (docs: number, bytes: number, secs: number) => {
  const mbs = bytes / MB / secs;
  return `${(docs / secs).toFixed(docs / secs < 10 ? 1 : 0)} docs/s, ${mbs < 0.1 ? `${(mbs * 1000).toFixed(1)} kB/s` : `${mbs.toFixed(2)} MB/s`}`;
};

const texts = spamAssassinTexts(DOCS);
const upload = new TextEncoder().encode(joinDocuments(texts));
row('seed corpus', `${texts.length} SpamAssassin message bodies, ${(upload.length / MB).toFixed(2)} MB (${SPAM_ASSASSIN.licence})`);

// Baseline: only what addressing documents costs (cut at separators, strict UTF-8 decode, SHA-256).
const decoder = new TextDecoder('utf-8', { fatal: true });
const base = timed(() => splitDocuments(upload).map((b) => docHash(decoder.decode(b))));
row('baseline, Node: cut + UTF-8 decode + SHA-256 per document', rate(texts.length, upload.length, base));
let verdicts = prefilter(splitDocuments(upload));
const l0 = timed(() => (verdicts = prefilter(splitDocuments(upload))));
const kept = verdicts.filter((v) => v.ok);
row('L0 prefilter, Node (in memory)', `${rate(texts.length, upload.length, l0)} (${(l0 / base).toFixed(1)}× the baseline)`);
const refusals = new Map<string, number>();
for (const v of verdicts) if (!v.ok) refusals.set(v.code, (refusals.get(v.code) ?? 0) + 1);
row('L0 verdicts on the corpus', `${kept.length} kept (${kept.filter((v) => v.redacted.emails + v.redacted.phones > 0).length} with PII redacted); refused: ${[...refusals].map(([c, n]) => `${n} ${c}`).join(', ')}`);

// The relay's path: L0 against its store, the upload stored, then the same corpus again.
const dir = await mkdtemp(join(tmpdir(), 'blyan-bench-data-'));
try {
  const db = openAccountsDb(accountsPath(dir));
  const store = new DataStore(db, new Journal(db, Date.now));
  const secret = new Uint8Array(32).fill(7);
  let t = performance.now();
  const first = await checkUpload(store, secret, DEFAULT_DATA_CONFIG, upload);
  const relayL0 = (performance.now() - t) / 1000;
  if (!first.ok) throw new Error('the seed corpus was refused');
  row('L0 prefilter, relay (against its sqlite store, empty; yields every 10 ms)', rate(texts.length, upload.length, relayL0));
  await storeUpload(store, SPAM_ASSASSIN, '0x0000000000000000000000000000000000000001', upload, first, Date.now());
  t = performance.now();
  const second = await checkUpload(store, secret, DEFAULT_DATA_CONFIG, upload);
  const relayL0Again = (performance.now() - t) / 1000;
  row('L0 prefilter, relay, the same corpus again (every document already held)', rate(texts.length, upload.length, relayL0Again));
  const stored = (db.prepare('SELECT SUM(bytes) AS b, COUNT(*) AS n FROM data_documents').get() as { b: number; n: number });
  const dup = second.verdicts.filter((v) => !v.ok && v.code === 'duplicate').length;
  row('dedup: corpus uploaded twice', `${dup} of ${second.verdicts.length} documents refused as duplicates the second time; ${((2 * upload.length) / MB).toFixed(2)} MB submitted, ${(stored.b / MB).toFixed(2)} MB stored (${stored.n} documents): ratio ${((2 * upload.length) / stored.b).toFixed(2)}`);
  db.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

// dataset-v1 payloads: raw DEFLATE (fflate, level 9) of the JSON against the text.
const docs = kept.map((v) => ({ sha256: v.sha256, tier: 'gold' as const, bpb: 0, overlap: 0, text: v.text, bytes: v.bytes }));
let payloadBytes = 0;
let jsonBytes = 0;
const parts = packParts(docs, MAX_BLOCK_TEXT);
const enc = timed(() => {
  payloadBytes = 0;
  jsonBytes = 0;
  for (const p of parts) {
    const payload = encodeDatasetPayload({ v: 1, docs: p });
    payloadBytes += payload.length;
    jsonBytes += inflatedSize(payload);
  }
}, 1);
const textBytes = docs.reduce((n, d) => n + d.bytes, 0);
row('dataset-v1 blocks of the kept documents', `${parts.length} block(s): ${(textBytes / MB).toFixed(2)} MB text, ${(jsonBytes / MB).toFixed(2)} MB JSON, ${(payloadBytes / MB).toFixed(2)} MB compressed (${((100 * payloadBytes) / textBytes).toFixed(1)} % of the text; encoded at ${(textBytes / MB / enc).toFixed(1)} MB/s)`);

// L1 on the committed genesis model (onnxruntime-node, one intra-op thread as the relay's evaluator runs).
const ck = decodeCheckpoint(new Uint8Array(await readFile(GENESIS_CHECKPOINT)), GENESIS_CHECKPOINT);
const model = OnnxModel.create(ck.config, { intraOpThreads: 1 });
const sample = kept.slice(0, L1_DOCS);
await documentBpb(model, ck.config, ck.params, ck.tokenizer, sample[0]!.text, DEFAULT_DATA_CONFIG.perBatch);
let t = performance.now();
const scores = [];
for (const v of sample) scores.push(await documentBpb(model, ck.config, ck.params, ck.tokenizer, v.text, DEFAULT_DATA_CONFIG.perBatch));
const l1 = (performance.now() - t) / 1000;
await model.dispose();
const l1Bytes = sample.reduce((n, v) => n + v.bytes, 0);
const tokens = scores.reduce((n, s) => n + s.tokens, 0);
const bpbs = scores.map((s) => s.bpb).sort((a, b) => a - b);
row(`L1 scoring, relay (genesis model, ORT 1 thread, ${sample.length} documents)`, `${rate(sample.length, l1Bytes, l1)}, ${(tokens / l1).toFixed(0)} tokens/s`);
row('L1 bits per byte on the corpus (median, p10–p90)', `${bpbs[Math.floor(bpbs.length / 2)]!.toFixed(2)} (${bpbs[Math.floor(bpbs.length * 0.1)]!.toFixed(2)}–${bpbs[Math.floor(bpbs.length * 0.9)]!.toFixed(2)})`);
const tiers = countTiers(scores.map((s) => tierOf(s.bpb, 0, DEFAULT_TIERS)));
row('L1 tiers at overlap 0 (gold ≤ 3.0 bpb, silver ≤ 4.5)', `gold ${tiers.gold}, silver ${tiers.silver}, experimental ${tiers.experimental}`);

// The page: the Data page's L0 code on the built app's bench page in Chromium.
const app = await serveStatic(DIST);
const browser = await chromium.launch({ ...CHROMIUM, headless: true });
try {
  const page = await browser.newPage();
  await page.goto(`${app.url}/bench.html`);
  await page.waitForFunction(() => 'blyanBench' in window);
  const text = new TextDecoder().decode(upload);
  const r = await page.evaluate((u) => (window as unknown as { blyanBench: { prefilterMs(u: string, runs: number): { docs: number; kept: number; ms: number } } }).blyanBench.prefilterMs(u, 3), text);
  row('L0 prefilter, page (Chromium, the Data page code)', `${rate(r.docs, upload.length, r.ms / 1000)} (${r.kept} kept, as in Node: ${r.kept === kept.length})`);
} finally {
  await browser.close();
  await app.close();
}

console.log(`\n| measurement | result |\n| --- | --- |\n${rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n')}`);

/**
 * The browser's contribution path, timed (not a test): the contribute worker's own modules
 * (FrozenModel, gpuTrainer, cpuTrainer, buildCandidate) against an in-process relay, with WebGPU
 * from Dawn in Node on SwiftShader (as headless Chromium here) next to the CPU reference. Prints
 * ms per micro-step (forward, backward, AdamW) and training tokens/s per backend, the delta's size
 * raw against blyan-delta-v1 at several top-k densities, and the relay's verdict on one submission.
 *
 *   pnpm exec tsx apps/web/bench/contribute.ts [tiny|genesis] [--steps 8] [--batch 2] [--seq 64]
 */
import { blockHash } from '@blyan/block';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RelayClient } from '@blyan/client';
import { GENESIS_CONFIG, type ModelConfig, initParams, trainTokenizer } from '@blyan/model';
import { genesisBlocks } from '@blyan/model/blocks';
import { hashSplit } from '@blyan/model/data';
import { evalStream } from '@blyan/model/eval';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { nodeGpuDevice } from '../../../packages/gpu/src/node-device.ts';
import { formatTable } from '../../../relay/src/cli/table.ts';
import { relayRules } from '../../../relay/src/config.ts';
import { defaultAccountsConfig } from '../../../relay/src/contributions/config.ts';
import { corpusDocs } from '../../../relay/src/corpus.ts';
import { openRelay } from '../../../relay/src/relay.ts';
import { createApp } from '../../../relay/src/server/app.ts';
import { ORIGIN } from '../../../relay/test/accounts-helpers.ts';
import { E2E_MODEL } from '../e2e/relay-process.ts';
import { ShardBatches } from '../src/contribute/batches.ts';
import { buildCandidate } from '../src/contribute/candidate.ts';
import { cpuTrainer } from '../src/contribute/cpu-trainer.ts';
import type { ExpertTrainer, TrainSettings } from '../src/contribute/expert-trainer.ts';
import { FrozenModel } from '../src/contribute/frozen-model.ts';
import { gpuTrainer } from '../src/contribute/gpu-trainer.ts';
import { signIn } from '../test/signed-in.ts';
import { median } from '../../../relay/bench/stats.ts';

const CONFIGS: Record<string, ModelConfig> = {
  /** The web app's e2e model. */
  tiny: E2E_MODEL,
  genesis: GENESIS_CONFIG,
};
const { values, positionals } = parseArgs({ allowPositionals: true, options: { steps: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' } } });
const name = positionals[0] ?? 'tiny';
const cfg = CONFIGS[name];
if (!cfg) throw new Error(`unknown config ${name}; one of ${Object.keys(CONFIGS).join(', ')}`);
const steps = Number(values.steps ?? 8);
const settings: TrainSettings = { batch: Number(values.batch ?? 2), seqLen: Math.min(Number(values.seq ?? 64), cfg.contextLength), adamw: { lr: 2e-3 } };

console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; ${name} config, B = ${settings.batch}, T = ${settings.seqLen}, ${steps} micro-steps`);
const train = corpusDocs.train();
const genesisKey = privateKeyToAccount(generatePrivateKey());
const evaluatorKey = privateKeyToAccount(generatePrivateKey());
const splits = { train: hashSplit(train), val: hashSplit([]), hidden: hashSplit(corpusDocs.hidden()) };
const genesis = await genesisBlocks({ config: cfg, tokenizer: trainTokenizer([train[0]!.text.slice(0, 20_000)], cfg.vocabSize), params: initParams(cfg, 3), splits }, genesisKey, {
  trust: { authorities: [genesisKey.address], evaluators: [evaluatorKey.address] },
});
const dir = await mkdtemp(join(tmpdir(), 'blyan-web-bench-'));
const relay = await openRelay(dir, relayRules(64 << 20), { ...defaultAccountsConfig(ORIGIN, corpusDocs), minImprovement: 1e-4 }, evaluatorKey);
for (const b of genesis) {
  const r = await relay.ledger.submit(b);
  if (!r.ok) throw new Error(r.message);
}
const app = createApp({ ...relay, maxPayloadBytes: 64 << 20 });
const { fetchImpl, accounts, key, account } = await signIn({ app });

const a = await accounts.assignment();
const model = await FrozenModel.open(new RelayClient('http://relay.test', fetchImpl), a.meta, blockHash(genesis[0]!.header));
const slot = model.plan(a.slot);
if (slot.type !== 'expert') throw new Error('assigned a non-expert slot');
const batches = new ShardBatches(evalStream(model.tokenizer, (await accounts.shard(a)).docs.map((d) => d.text)), settings.batch, settings.seqLen);
const base = await model.block(a.base, a.slot);

async function time(trainer: ExpertTrainer): Promise<{ ms: number; losses: number[]; change: Record<string, Float32Array> }> {
  const ms: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const { inputs, targets } = batches.at(s);
    const t0 = performance.now();
    losses.push(await trainer.microStep(inputs, targets));
    if (s > 0) ms.push(performance.now() - t0); // step 0 warms up (pipelines, first uploads)
  }
  const change = await trainer.change();
  trainer.destroy();
  return { ms: median(ms), losses, change };
}

const rows: string[][] = [];
const tokens = settings.batch * settings.seqLen;
const gpu = await time(await gpuTrainer(await nodeGpuDevice('swiftshader'), model, slot.layer, slot.expert, base, settings));
const cpu = await time(await cpuTrainer(model, slot.layer, slot.expert, base, settings));
for (const [backend, r] of [['WebGPU (SwiftShader)', gpu], ['CPU reference', cpu]] as const) {
  rows.push([backend, r.ms.toFixed(0), ((1000 * tokens) / r.ms).toFixed(0), `${r.losses[0]!.toFixed(3)} → ${r.losses.at(-1)!.toFixed(3)}`]);
}
console.log(`\nTraining ${a.slot} (${tokens} tokens per micro-step, median of ${steps} after one warm-up)`);
console.log(formatTable(['backend', 'ms / micro-step', 'tokens/s', 'loss first → last'], rows));

const candidate = (density: number) => buildCandidate(gpu.change, base, { meta: a.meta, slot, shard: a.shard.index, encoding: model.payload.quantization.experts, density, maxRelativeNorm: a.rules.max_relative_norm, signer: key, account, now: Date.now() });
const sizes: string[][] = [];
for (const density of [0.01, 0.05, 0.1, 0.25]) {
  const c = await candidate(density);
  sizes.push([`${density * 100} %`, String(c.size.entries), `${(c.size.rawBytes / 1024).toFixed(0)} KiB`, `${(c.size.encodedBytes / 1024).toFixed(1)} KiB`, `${c.size.ratio.toFixed(1)}×`, c.scaled === 1 ? '1' : c.scaled.toFixed(3)]);
}
console.log(`\nDelta of ${a.slot} after ${steps + 1} WebGPU micro-steps: raw f32 against blyan-delta-v1`);
console.log(formatTable(['top-k density', 'entries', 'raw f32', 'encoded', 'ratio', 'scaled to norm bound'], sizes));

const sent = await accounts.submit((await candidate(0.05)).body);
if (sent.kind !== 'queued') throw new Error(`submission not queued: ${JSON.stringify(sent)}`);
for (;;) {
  await new Promise((r) => setTimeout(r, 200));
  const v = await accounts.contribution(sent.id);
  if (v.status !== 'accepted' && v.status !== 'rejected') continue;
  const f = v.figures;
  console.log(`\nRelay verdict on the 5 % delta: ${v.status}${v.reason ? ` (${v.reason})` : ''}; hidden loss ${f?.baseline.toFixed(4)} → ${f?.candidate.toFixed(4)} (Δ ${f?.improvement.toFixed(4)}) over ${f?.tokens} tokens in ${f?.ms.toFixed(0)} ms`);
  break;
}
await relay.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);

import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTensors, encodeTensors } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CorpusSplit, type Doc, hashSplit } from '../src/data/corpus.ts';
import type { ModelConfig } from '../src/reference/config.ts';
import { parameterShapes } from '../src/reference/params.ts';
import { Rng } from '../src/reference/rng.ts';
import { trainTokenizer } from '../src/tokenizer/train.ts';
import type { TrainBackendFactory } from '../src/train/backend.ts';
import { checkSplits, decodeCheckpoint, encodeCheckpoint, readCheckpoint } from '../src/train/checkpoint.ts';
import { exportRun } from '../src/train/export.ts';
import { onnxTrainBackend } from '../src/train/onnx-backend.ts';
import { referenceTrainBackend } from '../src/train/reference-backend.ts';
import { runFiles } from '../src/train/run-files.ts';
import type { RunSpec } from '../src/train/run-spec.ts';
import { type TrainingOptions, runTraining } from '../src/train/run.ts';
import { loadRunState } from '../src/train/state-file.ts';
import type { LogRecord } from '../src/train/train-log.ts';

const CFG: ModelConfig = { vocabSize: 300, dModel: 16, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 32, contextLength: 16, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const SPEC: RunSpec = { seed: 7, batch: 4, lr: 1e-2, steps: 8, warmupSteps: 2, logEvery: 2, valWindows: 4 };

const WORDS = 'the whale sea ship captain ahab crew state union congress nation people war peace law year great white harpoon deck boat'.split(' ');

function docsOf(prefix: string, count: number, rng: Rng): Doc[] {
  return Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: 120 }, () => WORDS[rng.nextUint32() % WORDS.length]!);
    return { id: `sotu:${prefix}-${i}`, source: 'sotu' as const, text: `${words.join(' ')}.\n` };
  });
}

const rng = new Rng(11);
const CORPUS: CorpusSplit = { train: docsOf('train', 12, rng), val: docsOf('val', 2, rng), hidden: docsOf('hidden', 2, rng) };

const root = mkdtempSync(join(tmpdir(), 'blyan-train-test-'));
let dirCount = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));
const newDir = (): string => join(root, `run-${dirCount++}`);

function train(dir: string, extra: Partial<TrainingOptions> = {}): ReturnType<typeof runTraining> {
  return runTraining({ dir, config: CFG, requested: {}, defaults: SPEC, corpus: CORPUS, backend: referenceTrainBackend, checkpointEveryMs: Infinity, ...extra });
}

const records = (dir: string): LogRecord[] =>
  readFileSync(join(dir, 'train.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogRecord);
/** The log without its timings, which differ from run to run. */
const untimed = (dir: string): unknown[] => records(dir).map(({ tokens_per_s: _t, elapsed_s: _e, ...rest }) => rest);
const bytesOf = (path: string): Buffer => readFileSync(path);

/** A backend that dies (like kill -9: no checkpoint) when asked for step number `dieAt` of this invocation. */
function dying(factory: TrainBackendFactory, dieAt: number): TrainBackendFactory {
  return async (...args) => {
    const inner = await factory(...args);
    let calls = 0;
    return { ...inner, step: (batch, lr) => (++calls === dieAt ? Promise.reject(new Error('killed')) : inner.step(batch, lr)) };
  };
}

describe.each([
  ['reference', referenceTrainBackend],
  ['onnxruntime', onnxTrainBackend],
] as const)('resuming with the %s backend', (_, backend) => {
  it('N steps straight equal N/2 steps, stop, N/2 more steps, bit for bit', async () => {
    const straight = newDir();
    const split = newDir();
    await train(straight, { backend });
    const first = await train(split, { backend, stopAtStep: 4 });
    expect(first).toMatchObject({ step: 4, finished: false });
    expect(existsSync(runFiles(split).checkpoint)).toBe(false);
    const second = await train(split, { backend });
    expect(second).toMatchObject({ step: 8, finished: true });
    expect(bytesOf(runFiles(split).checkpoint).equals(bytesOf(runFiles(straight).checkpoint))).toBe(true);
    const [a, b] = [loadRunState(runFiles(straight).state), loadRunState(runFiles(split).state)];
    expect(b.state).toEqual(a.state);
    expect(untimed(split)).toEqual(untimed(straight));
  });

  it('a run killed after its last checkpoint resumes from it and logs each step once', async () => {
    const straight = newDir();
    const killed = newDir();
    await train(straight, { backend });
    await train(killed, { backend, stopAtStep: 2 });
    await expect(train(killed, { backend: dying(backend, 5) })).rejects.toThrow('killed');
    expect(records(killed).map((r) => r.step)).toEqual([2, 4, 6]);
    expect(loadRunState(runFiles(killed).state).state.step).toBe(2);
    await train(killed, { backend });
    expect(untimed(killed)).toEqual(untimed(straight));
    expect(bytesOf(runFiles(killed).checkpoint).equals(bytesOf(runFiles(straight).checkpoint))).toBe(true);
  });
});

describe('a finished run', () => {
  const dir = newDir();
  let result: Awaited<ReturnType<typeof runTraining>>;
  beforeAll(async () => {
    result = await train(dir);
  });

  it('logs every logEvery steps, as text and as JSON lines', () => {
    const lines = readFileSync(join(dir, 'train.log'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/^step \d+ \| tokens \d+ \| lr \S+ \| train \d+\.\d{4} \| aux \S+ \| val \S+ \| val_bpb \S+ \| \d+ tok\/s \| \d+:\d\d:\d\d$/);
    const recs = records(dir);
    expect(recs.map((r) => [r.step, r.tokens])).toEqual([2, 4, 6, 8].map((s) => [s, s * SPEC.batch * CFG.contextLength]));
    for (const r of recs) {
      expect(Object.keys(r).sort()).toEqual(['aux', 'elapsed_s', 'lr', 'step', 'tokens', 'tokens_per_s', 'train_loss', 'val_bpb', 'val_loss'].sort());
      for (const v of Object.values(r)) expect(Number.isFinite(v)).toBe(true);
    }
    expect(recs.at(-1)!.train_loss).toBeLessThan(recs[0]!.train_loss);
    expect(result.last).toEqual(recs.at(-1));
  });

  it('leaves its tokenizer, its state and a tensors-v1 checkpoint with the metadata genesis reads, and no temporary files', () => {
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.tensors', 'state.tensors', 'tokenizer.json', 'train.jsonl', 'train.log']);
    expect(loadRunState(runFiles(dir).state)).toMatchObject({ config: CFG, run: SPEC, state: { step: 8 } });
    const ckpt = readCheckpoint(runFiles(dir).checkpoint);
    expect(ckpt.config).toEqual(CFG);
    expect(ckpt.tokenizer.vocabSize).toBe(300);
    expect(JSON.parse(ckpt.metadata.tokenizer!)).toEqual(JSON.parse(readFileSync(runFiles(dir).tokenizer, 'utf8')));
    expect(JSON.parse(ckpt.metadata.splits!)).toEqual({ train: hashSplit(CORPUS.train), val: hashSplit(CORPUS.val), hidden: hashSplit(CORPUS.hidden) });
    expect(JSON.parse(ckpt.metadata.trained!)).toEqual({ steps: 8, tokens: 8 * 4 * 16, seed: 7, val_bpb: records(dir).at(-1)!.val_bpb });
    const { tensors } = decodeTensors(new Uint8Array(readFileSync(runFiles(dir).checkpoint)));
    expect(Object.keys(tensors).sort()).toEqual(parameterShapes(CFG).map((s) => s.name).sort());
    for (const { name, shape } of parameterShapes(CFG)) expect(tensors[name]).toMatchObject({ dtype: 'f32', shape });
  });

  it('is exported again unchanged by exportRun, and a rerun trains no further', async () => {
    const before = bytesOf(runFiles(dir).checkpoint);
    await exportRun(dir, CFG, CORPUS, referenceTrainBackend);
    expect(bytesOf(runFiles(dir).checkpoint).equals(before)).toBe(true);
    expect(await train(dir)).toMatchObject({ step: 8, finished: true });
    expect(records(dir)).toHaveLength(4);
  });
});

describe('a damaged or mismatched run directory', () => {
  const base = newDir();
  beforeAll(() => train(base, { stopAtStep: 2 }));

  /** A copy of the run at step 2, damaged by `damage`; resuming must throw `message` and change nothing. */
  async function expectRefused(damage: (dir: string) => void, message: RegExp, extra: Partial<TrainingOptions> = {}): Promise<void> {
    const dir = newDir();
    cpSync(base, dir, { recursive: true });
    damage(dir);
    const snapshot = Object.fromEntries(readdirSync(dir).map((f) => [f, bytesOf(join(dir, f))]));
    await expect(train(dir, extra)).rejects.toThrow(message);
    expect(readdirSync(dir).sort()).toEqual(Object.keys(snapshot).sort());
    for (const [f, bytes] of Object.entries(snapshot)) expect(bytesOf(join(dir, f)).equals(bytes), f).toBe(true);
  }

  it('refuses a truncated state file', async () => {
    await expectRefused((dir) => truncateSync(runFiles(dir).state, 5000), /state\.tensors is truncated or corrupt/);
  });

  it('refuses a state file with a flipped bit', async () => {
    await expectRefused((dir) => {
      const bytes = bytesOf(runFiles(dir).state);
      bytes[bytes.length - 100]! ^= 1;
      writeFileSync(runFiles(dir).state, bytes);
    }, /state\.tensors is corrupt: its tensors do not match the digest/);
  });

  it('refuses a state file holding a tensor of the wrong shape', async () => {
    await expectRefused((dir) => {
      const { tensors, metadata } = decodeTensors(new Uint8Array(bytesOf(runFiles(dir).state)));
      tensors['params/embed'] = { ...tensors['params/embed']!, shape: [16, 300] };
      writeFileSync(runFiles(dir).state, encodeTensors(tensors, metadata));
    }, /tensor "params\/embed" has shape \[16, 300\] but the config needs \[300, 16\]/);
  });

  it('refuses a tokenizer whose vocabulary does not match the config', async () => {
    const small = trainTokenizer(
      CORPUS.train.map((d) => d.text),
      280,
    );
    await expectRefused((dir) => writeFileSync(runFiles(dir).tokenizer, JSON.stringify(small.toJSON())), /the tokenizer has 280 tokens but the config's vocabSize is 300/);
    const fresh = newDir();
    await train(fresh, { stopAtStep: 0 });
    writeFileSync(runFiles(fresh).tokenizer, JSON.stringify(small.toJSON()));
    await expect(train(fresh)).rejects.toThrow(/the tokenizer has 280 tokens but the config's vocabSize is 300/);
  });

  it('refuses to resume with other settings or another config', async () => {
    await expectRefused(() => {}, /holds a run with different settings \(lr 0\.01 → 0\.02\)/, { requested: { lr: 0.02 } });
    await expectRefused(() => {}, /was trained with config .* not the requested/, { config: { ...CFG, dFF: 64 } });
  });
});

describe('checkpoint.tensors', () => {
  const dir = newDir();
  beforeAll(() => train(dir, { requested: { steps: 2 } }));

  it('round-trips, and refuses a wrong-shape tensor, a mismatched tokenizer, or truncation', () => {
    const bytes = new Uint8Array(bytesOf(runFiles(dir).checkpoint));
    const good = decodeCheckpoint(bytes, 'ckpt');
    const { tensors, metadata } = decodeTensors(bytes);
    const reshaped = { ...tensors, 'layers.0.experts.1.w2': { ...tensors['layers.0.experts.1.w2']!, shape: [32, 16] } };
    expect(() => decodeCheckpoint(encodeTensors(reshaped, metadata), 'ckpt')).toThrow('ckpt: tensor "layers.0.experts.1.w2" has shape [32, 16] but the config needs [16, 32]');
    const small = trainTokenizer(
      CORPUS.train.map((d) => d.text),
      290,
    );
    const mismatched = { ...metadata, tokenizer: JSON.stringify(small.toJSON()) };
    expect(() => decodeCheckpoint(encodeTensors(tensors, mismatched), 'ckpt')).toThrow("ckpt: the tokenizer has 290 tokens but the config's vocabSize is 300");
    expect(() => encodeCheckpoint(CFG, good.params, small, JSON.parse(metadata.splits!), JSON.parse(metadata.trained!))).toThrow(/290 tokens/);
    expect(() => decodeCheckpoint(bytes.subarray(0, 1000), 'ckpt')).toThrow('ckpt is truncated or corrupt');
  });

  it('records the corpus splits it was trained on, which evaluation checks', () => {
    const ckpt = readCheckpoint(runFiles(dir).checkpoint);
    expect(() => checkSplits(ckpt, CORPUS, 'ckpt')).not.toThrow();
    expect(() => checkSplits(ckpt, { ...CORPUS, val: CORPUS.val.slice(1) }, 'ckpt')).toThrow(/ckpt: recorded val split [0-9a-f]{64} differs from this corpus's [0-9a-f]{64}/);
  });
});

describe('a run with sequence budgets', () => {
  const config: ModelConfig = { ...CFG, sequenceBudgets: { localityLossCoef: 0.05 } };

  it('draws budgets from (seed, step) alone: N steps straight equal N/2, stop, N/2 more, bit for bit', async () => {
    const straight = newDir();
    await train(straight, { config, requested: { steps: 4 } });
    const split = newDir();
    await train(split, { config, requested: { steps: 4 }, stopAtStep: 2 });
    await train(split, { config });
    expect(bytesOf(runFiles(split).checkpoint).equals(bytesOf(runFiles(straight).checkpoint))).toBe(true);
  });

  it('keeps its budget draw in the state file and refuses to resume with another', async () => {
    const dir = newDir();
    const budgetDraw = { dynamicShare: 0.5, maxExperts: 3, fromStep: 1, untilStep: 6 };
    await train(dir, { config, requested: { budgetDraw }, stopAtStep: 1 });
    expect(loadRunState(runFiles(dir).state).run.budgetDraw).toEqual(budgetDraw);
    await expect(train(dir, { config, requested: { budgetDraw: { ...budgetDraw, maxExperts: 4 } } })).rejects.toThrow(
      'holds a run with different settings (budgetDraw {"dynamicShare":0.5,"maxExperts":3,"fromStep":1,"untilStep":6} → {"dynamicShare":0.5,"maxExperts":4,"fromStep":1,"untilStep":6})',
    );
    await expect(train(dir, { config })).resolves.toMatchObject({ finished: true });
  });

  it('refuses a budget draw for a model without sequence budgets', async () => {
    await expect(train(newDir(), { requested: { budgetDraw: { dynamicShare: 0, maxExperts: 4, fromStep: 0, untilStep: 8 } } })).rejects.toThrow('a budget draw needs a model with sequence budgets');
  });

  it('refuses to resume with another locality weight', async () => {
    const dir = newDir();
    await train(dir, { config, stopAtStep: 1 });
    await expect(train(dir, { config: { ...config, sequenceBudgets: { localityLossCoef: 0.5 } } })).rejects.toThrow(/was trained with config .* not the requested/);
  });
});

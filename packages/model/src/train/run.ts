import { mkdirSync } from 'node:fs';
import type { CorpusSplit } from '../data/corpus.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { StepStats, TrainBackend, TrainBackendFactory } from './backend.ts';
import { exportModel } from './export.ts';
import { freshState, loadSaved } from './resume.ts';
import { runFiles } from './run-files.ts';
import { type RunSpec, resolveRunSpec } from './run-spec.ts';
import { sampleBatch, sampleBudgets } from './sampler.ts';
import { learningRate } from './schedule.ts';
import { type LogWindow, type SavedRun, saveRunState } from './state-file.ts';
import { loadOrTrainTokenizer } from './tokenizer-file.ts';
import { type LogRecord, TrainLog, formatRecord } from './train-log.ts';
import { Validation } from './validation.ts';

/** The learning rate decays to this fraction of its peak by the last step. */
const FINAL_LR_FRACTION = 0.1;

export interface TrainingOptions {
  readonly dir: string;
  readonly config: ModelConfig;
  /** Settings given for this invocation; a resumed run must agree with its saved ones. */
  readonly requested: Partial<RunSpec>;
  /** Settings of a new run that `requested` leaves out. */
  readonly defaults: RunSpec;
  readonly corpus: CorpusSplit;
  readonly backend: TrainBackendFactory;
  /** Checkpoint at least this often (wall clock). */
  readonly checkpointEveryMs: number;
  /** Stop (and checkpoint) once the run reaches this step; default: the run's last step. */
  readonly stopAtStep?: number;
  /** Stop (and checkpoint) after this much wall-clock time in this invocation. */
  readonly maxMs?: number;
  /** Stop (and checkpoint) after the current step once aborted. */
  readonly signal?: AbortSignal;
  readonly print?: (line: string) => void;
}

export interface TrainingResult {
  readonly run: RunSpec;
  readonly step: number;
  /** The run reached its last step and wrote checkpoint.tensors. */
  readonly finished: boolean;
  readonly last: LogRecord | null;
}

/**
 * Trains (or resumes) the run in `dir` until its last step, a stop condition or an abort, then
 * checkpoints; on reaching the last step also writes checkpoint.tensors. Deterministic: the same
 * settings give the same parameters bit for bit, however the run is split into invocations, given
 * a deterministic backend. Throws before writing anything if the directory's state is unreadable
 * or belongs to another run.
 */
export async function runTraining(o: TrainingOptions): Promise<TrainingResult> {
  const files = runFiles(o.dir);
  const cfg = o.config;
  const T = cfg.contextLength;
  const saved = loadSaved(files, cfg);
  const run = resolveRunSpec(saved?.run ?? null, o.requested, o.defaults, files.state);
  if (run.budgetDraw !== undefined && cfg.sequenceBudgets === undefined) throw new Error('a budget draw needs a model with sequence budgets');
  mkdirSync(o.dir, { recursive: true });
  const tokenizer = loadOrTrainTokenizer(files.tokenizer, o.corpus.train, cfg.vocabSize);
  const stream = Int32Array.from(tokenizer.encodeDocuments(o.corpus.train.map((d) => d.text)));
  const validation = new Validation(tokenizer, o.corpus.val, T, run.valWindows);
  const log = new TrainLog(o.dir);
  log.truncateAfter(saved?.state.step ?? 0);
  const schedule = { peak: run.lr, warmupSteps: run.warmupSteps, totalSteps: run.steps, finalFraction: FINAL_LR_FRACTION };
  const backend = await o.backend(cfg, saved?.state ?? freshState(cfg, run.seed));
  try {
    return await loop({ o, run, backend, tokenizer, stream, validation, log, saved, lrAt: (step) => learningRate(schedule, step) });
  } finally {
    await backend.dispose();
  }
}

/** What the training loop works with, prepared by runTraining. */
interface Session {
  readonly o: TrainingOptions;
  readonly run: RunSpec;
  readonly backend: TrainBackend;
  readonly tokenizer: Tokenizer;
  /** The train split's token stream. */
  readonly stream: Int32Array;
  readonly validation: Validation;
  readonly log: TrainLog;
  readonly saved: SavedRun | null;
  readonly lrAt: (step: number) => number;
}

async function loop({ o, run, backend, tokenizer, stream, validation, log, saved, lrAt }: Session): Promise<TrainingResult> {
  const files = runFiles(o.dir);
  const cfg = o.config;
  const T = cfg.contextLength;
  const started = performance.now();
  const elapsedMs = (): number => (saved?.elapsedMs ?? 0) + performance.now() - started;
  const stopAt = Math.min(run.steps, o.stopAtStep ?? run.steps);
  const deadline = o.maxMs === undefined ? Infinity : started + o.maxMs;
  let step = saved?.state.step ?? 0;
  let window: LogWindow = saved?.window ?? { ce: 0, aux: 0, steps: 0 };
  let savedStep = step;
  let lastSave = performance.now();
  let stepMs = 0;
  let stepTokens = 0;
  let last: LogRecord | null = null;
  const checkpoint = async (): Promise<void> => {
    saveRunState(files.state, { config: cfg, run, state: await backend.snapshot(), elapsedMs: elapsedMs(), window });
    savedStep = step;
    lastSave = performance.now();
  };
  while (step < stopAt && !o.signal?.aborted && performance.now() < deadline) {
    const windows = sampleBatch(stream, run.batch, T, run.seed, step);
    const batch = cfg.sequenceBudgets ? { ...windows, budgets: sampleBudgets(cfg, run.batch, T, run.seed, step, run.budgetDraw) } : windows;
    const t0 = performance.now();
    const stats: StepStats = await backend.step(batch, lrAt(step));
    stepMs += performance.now() - t0;
    stepTokens += run.batch * T;
    if (!Number.isFinite(stats.loss)) throw new Error(`the loss became ${stats.loss} at step ${step}; the last checkpoint (step ${savedStep}) is kept`);
    step++;
    window = { ce: window.ce + stats.ce, aux: window.aux + stats.aux, steps: window.steps + 1 };
    if (step % run.logEvery === 0 || step === run.steps) {
      const val = await validation.run(backend, run.batch);
      last = {
        step,
        tokens: step * run.batch * T,
        lr: lrAt(step - 1),
        train_loss: window.ce / window.steps,
        aux: window.aux / window.steps,
        val_loss: val.loss,
        val_bpb: val.bpb,
        tokens_per_s: (stepTokens * 1000) / stepMs,
        elapsed_s: elapsedMs() / 1000,
      };
      log.append(last);
      o.print?.(formatRecord(last));
      window = { ce: 0, aux: 0, steps: 0 };
      stepMs = 0;
      stepTokens = 0;
    }
    if (performance.now() - lastSave >= o.checkpointEveryMs) await checkpoint();
  }
  if (step !== savedStep) await checkpoint();
  const finished = step >= run.steps;
  if (finished) {
    const val = last?.step === step ? { bpb: last.val_bpb } : await validation.run(backend, run.batch);
    const { params } = await backend.snapshot();
    exportModel(files.checkpoint, cfg, params, tokenizer, o.corpus, { steps: step, tokens: step * run.batch * T, seed: run.seed, val_bpb: val.bpb });
  }
  return { run, step, finished, last };
}

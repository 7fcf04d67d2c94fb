import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpusSplit } from '../data/corpus.ts';
import { type ModelConfig, validateConfig } from '../reference/config.ts';
import { exportRun } from '../train/export.ts';
import { GENESIS_CONFIGS, type GenesisName, denseBaseline } from '../train/genesis-config.ts';
import { BACKEND_NAMES, type BackendName, trainBackend } from '../train/backends.ts';
import { runFiles } from '../train/run-files.ts';
import type { RunSpec } from '../train/run-spec.ts';
import { runTraining } from '../train/run.ts';
import { choiceArg, numberArg, runMain } from './args.ts';

const DEFAULT_STEPS = 6000;
const DEFAULT_BACKEND: BackendName = BACKEND_NAMES[0];

const USAGE = `usage: pnpm exec tsx packages/model/src/cli/train.ts [options]
  --model NAME             ${Object.keys(GENESIS_CONFIGS).join(' | ')} (default genesis)
  --locality COEF          the locality loss's weight of a model with sequence budgets (genesis-v2: ${GENESIS_CONFIGS['genesis-v2'].sequenceBudgets?.localityLossCoef})
  --out DIR                run directory (default .blyan/train/NAME, or .blyan/train/dense with --dense)
  --steps N                steps of the whole run, the length of the LR schedule (default ${DEFAULT_STEPS})
  --minutes M              stop after M minutes of this invocation (checkpointed; rerun to resume)
  --seed S                 seed of the initialization and of the window sampling (default 1)
  --batch B                windows of 256 tokens per step (default 16)
  --lr LR                  peak learning rate (default 3e-3)
  --warmup N               warmup steps (default min(200, steps / 10))
  --log-every K            a train.log line with a validation pass every K steps (default 50)
  --val-windows N          fixed validation windows the log measures (default 32)
  --checkpoint-minutes M   checkpoint state.tensors at least this often (default 5)
  --dynamic-share P        with sequence budgets: the share of windows trained with dynamic routing (default 0)
  --budget-max M           with sequence budgets: the other windows' budgets are uniform in [topK, M] (default nExperts)
  --budgets-from STEP      with sequence budgets: windows draw budgets from step STEP (default 0) until
  --budgets-until STEP     step STEP (default --steps), and are routed dynamically before and after
                           (none of these four: every window of every step draws a budget uniform in [topK, nExperts])
  --dense                  train the dense baseline (1 expert, dFF 1024) instead of the MoE
  --dff F                  the feed-forward width: each expert's (default 512), or with --dense the baseline's
                           (default the MoE's active width, topK · dFF = 1024; 8192 = all 16 of a v2 layer's experts)
  --experts E              experts per layer of the MoE (default: the named genesis's)
  --top-k K                experts per token of the MoE (default: the named genesis's)
  --backend NAME           ${BACKEND_NAMES.join(' | ')} (default ${DEFAULT_BACKEND})
  --export                 only write checkpoint.tensors from the run's last checkpoint
A rerun with the same --out resumes from state.tensors; settings given then must match the run's.`;

const OPTIONS = {
  model: { type: 'string', default: 'genesis' },
  locality: { type: 'string' },
  out: { type: 'string' },
  steps: { type: 'string' },
  minutes: { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  warmup: { type: 'string' },
  'log-every': { type: 'string' },
  'val-windows': { type: 'string' },
  'checkpoint-minutes': { type: 'string' },
  'dynamic-share': { type: 'string' },
  'budget-max': { type: 'string' },
  'budgets-from': { type: 'string' },
  'budgets-until': { type: 'string' },
  dense: { type: 'boolean', default: false },
  dff: { type: 'string' },
  experts: { type: 'string' },
  'top-k': { type: 'string' },
  backend: { type: 'string', default: DEFAULT_BACKEND },
  export: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** The parsed command line. */
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

function requestedSpec(v: Values): Partial<RunSpec> {
  const entries = {
    seed: numberArg('seed', v.seed, { integer: true, min: 0, max: 0xffffffff }),
    batch: numberArg('batch', v.batch, { integer: true, min: 1 }),
    lr: numberArg('lr', v.lr, { min: Number.MIN_VALUE }),
    steps: numberArg('steps', v.steps, { integer: true, min: 1 }),
    warmupSteps: numberArg('warmup', v.warmup, { integer: true, min: 0 }),
    logEvery: numberArg('log-every', v['log-every'], { integer: true, min: 1 }),
    valWindows: numberArg('val-windows', v['val-windows'], { integer: true, min: 1 }),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, x]) => x !== undefined));
}

/** --dynamic-share, --budget-max, --budgets-from and --budgets-until as the run's budget draw; none given = the uniform draw. */
function budgetDraw(v: Values, config: ModelConfig, steps: number): Partial<RunSpec> {
  const dynamicShare = numberArg('dynamic-share', v['dynamic-share'], { min: 0, max: 1 });
  const maxExperts = numberArg('budget-max', v['budget-max'], { integer: true, min: config.topK, max: config.nExperts });
  const fromStep = numberArg('budgets-from', v['budgets-from'], { integer: true, min: 0 });
  const untilStep = numberArg('budgets-until', v['budgets-until'], { integer: true, min: 1 });
  if ([dynamicShare, maxExperts, fromStep, untilStep].every((x) => x === undefined)) return {};
  if (config.sequenceBudgets === undefined) throw new Error('--dynamic-share, --budget-max, --budgets-from and --budgets-until need a model with sequence budgets (--model genesis-v2)');
  return { budgetDraw: { dynamicShare: dynamicShare ?? 0, maxExperts: maxExperts ?? config.nExperts, fromStep: fromStep ?? 0, untilStep: untilStep ?? steps } };
}

/** Feed-forward shape overrides of the named genesis: --dff, --experts, --top-k. */
interface Shape {
  readonly dFF?: number;
  readonly nExperts?: number;
  readonly topK?: number;
}

/** The config to train: the named genesis (reshaped), its dense baseline (at another width), or it with another locality weight. */
function modelConfig(named: ModelConfig, dense: boolean, locality: number | undefined, shape: Shape): ModelConfig {
  const { dFF, ...routing } = shape;
  if (dense && Object.keys(routing).length > 0) throw new Error('--experts and --top-k shape the MoE: the dense baseline has one expert (set its width with --dff)');
  if (dense) return dFF === undefined ? denseBaseline(named) : { ...denseBaseline(named), dFF };
  const genesis = { ...named, ...shape };
  validateConfig(genesis);
  if (locality === undefined) return genesis;
  if (genesis.sequenceBudgets === undefined) throw new Error('--locality needs a model with sequence budgets (--model genesis-v2)');
  return { ...genesis, sequenceBudgets: { ...genesis.sequenceBudgets, localityLossCoef: locality } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backend = trainBackend(choiceArg('backend', values.backend, BACKEND_NAMES));
  const name = choiceArg('model', values.model, Object.keys(GENESIS_CONFIGS) as GenesisName[]);
  const positive = (flag: 'dff' | 'experts' | 'top-k') => numberArg(flag, values[flag], { integer: true, min: 1 });
  const shape = Object.fromEntries(Object.entries({ dFF: positive('dff'), nExperts: positive('experts'), topK: positive('top-k') }).filter(([, x]) => x !== undefined));
  const config = modelConfig(GENESIS_CONFIGS[name], values.dense, numberArg('locality', values.locality, { min: 0 }), shape);
  const dir = resolve(values.out ?? (values.dense ? '.blyan/train/dense' : `.blyan/train/${name}`));
  const corpus = loadCorpusSplit();
  if (values.export) {
    const trained = await exportRun(dir, config, corpus, backend);
    process.stdout.write(`wrote ${runFiles(dir).checkpoint}: step ${trained.steps}, val ${trained.val_bpb.toFixed(4)} bits/byte\n`);
    return;
  }
  const spec = requestedSpec(values);
  const steps = spec.steps ?? DEFAULT_STEPS;
  const requested = { ...spec, ...budgetDraw(values, config, steps) };
  const defaults: RunSpec = { seed: 1, batch: 16, lr: 3e-3, steps, warmupSteps: Math.min(200, Math.floor(steps / 10)), logEvery: 50, valWindows: 32 };
  const minutes = numberArg('minutes', values.minutes, { min: 0 });
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping after this step and checkpointing (send it again to quit at once)\n`);
      controller.abort();
    });
  }
  process.stdout.write(`training ${values.dense ? 'dense baseline' : `MoE ${name}`} in ${dir} with the ${values.backend} backend\n`);
  const result = await runTraining({
    dir,
    config,
    requested,
    defaults,
    corpus,
    backend,
    checkpointEveryMs: (numberArg('checkpoint-minutes', values['checkpoint-minutes'], { min: 0 }) ?? 5) * 60_000,
    ...(minutes === undefined ? {} : { maxMs: minutes * 60_000 }),
    signal: controller.signal,
    print: (line) => process.stdout.write(`${line}\n`),
  });
  const files = runFiles(dir);
  process.stdout.write(
    result.finished
      ? `finished ${result.run.steps} steps; wrote ${files.checkpoint}\n`
      : `stopped at step ${result.step} of ${result.run.steps}; state in ${files.state}, rerun to resume\n`,
  );
}

runMain(main);

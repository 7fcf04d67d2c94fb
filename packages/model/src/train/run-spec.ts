/** What defines a training run; a resumed run must have the same. */
export interface RunSpec {
  readonly seed: number;
  /** Windows per step. */
  readonly batch: number;
  /** Peak learning rate. */
  readonly lr: number;
  /** Steps of the whole run (the length of the cosine schedule). */
  readonly steps: number;
  readonly warmupSteps: number;
  /** A log line (and a validation pass) every this many steps. */
  readonly logEvery: number;
  /** Fixed validation windows the log's val loss is measured on. */
  readonly valWindows: number;
  /** How a model with sequence budgets draws each window's budget; absent = uniform in [topK, nExperts]. */
  readonly budgetDraw?: BudgetDraw;
}

/**
 * Windows draw budgets only at steps in [fromStep, untilStep) and are routed dynamically (no
 * budget) at every other step; there, a share of windows is dynamic too, and the others draw a
 * budget uniform in [topK, maxExperts].
 */
export interface BudgetDraw {
  readonly dynamicShare: number;
  readonly maxExperts: number;
  readonly fromStep: number;
  readonly untilStep: number;
}

function validateBudgetDraw(x: unknown): BudgetDraw {
  const d = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
  const { dynamicShare, maxExperts, fromStep, untilStep } = d;
  if (typeof dynamicShare !== 'number' || !(dynamicShare >= 0 && dynamicShare <= 1)) throw new Error(`run.budgetDraw.dynamicShare must be in [0, 1], got ${JSON.stringify(dynamicShare)}`);
  if (typeof maxExperts !== 'number' || !Number.isSafeInteger(maxExperts) || maxExperts < 1) throw new Error(`run.budgetDraw.maxExperts must be a positive integer, got ${JSON.stringify(maxExperts)}`);
  if (typeof fromStep !== 'number' || !Number.isSafeInteger(fromStep) || fromStep < 0) throw new Error(`run.budgetDraw.fromStep must be a non-negative integer, got ${JSON.stringify(fromStep)}`);
  if (typeof untilStep !== 'number' || !Number.isSafeInteger(untilStep) || untilStep <= fromStep) throw new Error(`run.budgetDraw.untilStep must be an integer above fromStep (${fromStep}), got ${JSON.stringify(untilStep)}`);
  return { dynamicShare, maxExperts, fromStep, untilStep };
}

const FIELDS = ['seed', 'batch', 'lr', 'steps', 'warmupSteps', 'logEvery', 'valWindows'] as const;
const INTEGER_FIELDS = new Set<string>(['seed', 'batch', 'steps', 'warmupSteps', 'logEvery', 'valWindows']);

/** Checks every field and throws an Error naming the first bad one. */
export function validateRunSpec(x: unknown): RunSpec {
  if (typeof x !== 'object' || x === null) throw new Error('run spec must be an object');
  const r = x as Record<string, unknown>;
  for (const key of FIELDS) {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`run.${key} must be a finite number, got ${JSON.stringify(v)}`);
    if (INTEGER_FIELDS.has(key) && !Number.isSafeInteger(v)) throw new Error(`run.${key} must be an integer, got ${v}`);
  }
  const fields = Object.fromEntries(FIELDS.map((k) => [k, r[k]])) as unknown as RunSpec;
  const spec: RunSpec = r.budgetDraw === undefined ? fields : { ...fields, budgetDraw: validateBudgetDraw(r.budgetDraw) };
  if (spec.seed < 0 || spec.seed > 0xffffffff) throw new Error(`run.seed must be in [0, 2^32), got ${spec.seed}`);
  if (spec.batch < 1) throw new Error(`run.batch must be ≥ 1, got ${spec.batch}`);
  if (!(spec.lr > 0)) throw new Error(`run.lr must be positive, got ${spec.lr}`);
  if (spec.steps < 1) throw new Error(`run.steps must be ≥ 1, got ${spec.steps}`);
  if (spec.warmupSteps < 0 || spec.warmupSteps > spec.steps) throw new Error(`run.warmupSteps must be in [0, steps], got ${spec.warmupSteps}`);
  if (spec.logEvery < 1) throw new Error(`run.logEvery must be ≥ 1, got ${spec.logEvery}`);
  if (spec.valWindows < 1) throw new Error(`run.valWindows must be ≥ 1, got ${spec.valWindows}`);
  return spec;
}

/** The fields where `a` and `b` differ, as `name a → b`. */
export function runSpecDiff(a: RunSpec, b: RunSpec): string[] {
  const draw = (r: RunSpec): string => JSON.stringify(r.budgetDraw ?? null);
  const fields = FIELDS.filter((k) => a[k] !== b[k]).map((k) => `${k} ${a[k]} → ${b[k]}`);
  return draw(a) === draw(b) ? fields : [...fields, `budgetDraw ${draw(a)} → ${draw(b)}`];
}

/**
 * The spec of a run: a new run takes `requested` over `defaults`; a resumed one keeps `saved`,
 * and any field `requested` sets must equal the saved one (a different run needs a new directory).
 */
export function resolveRunSpec(saved: RunSpec | null, requested: Partial<RunSpec>, defaults: RunSpec, where: string): RunSpec {
  if (saved === null) return validateRunSpec({ ...defaults, ...requested });
  const wanted = validateRunSpec({ ...saved, ...requested });
  const diff = runSpecDiff(saved, wanted);
  if (diff.length > 0) throw new Error(`${where} holds a run with different settings (${diff.join(', ')}); resume it with its own settings or use another output directory`);
  return saved;
}

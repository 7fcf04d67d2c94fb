import { existsSync } from 'node:fs';
import { createAdamW } from '../reference/adamw.ts';
import { type ModelConfig, canonicalConfigJson } from '../reference/config.ts';
import { initParams } from '../reference/params.ts';
import type { TrainState } from './backend.ts';
import type { runFiles } from './run-files.ts';
import { type SavedRun, loadRunState } from './state-file.ts';

const sameConfig = (a: ModelConfig, b: ModelConfig): boolean => canonicalConfigJson(a) === canonicalConfigJson(b);

/** Step 0 of a run: initParams(cfg, seed) and zero moments. */
export function freshState(cfg: ModelConfig, seed: number): TrainState {
  const params = initParams(cfg, seed);
  const { m, v } = createAdamW(params, cfg);
  return { params, m, v, step: 0 };
}

/**
 * The run saved in a directory, or null if it has none; throws if its state file is damaged,
 * was trained with another config, or lacks its tokenizer.
 */
export function loadSaved(files: ReturnType<typeof runFiles>, cfg: ModelConfig): SavedRun | null {
  if (!existsSync(files.state)) return null;
  const saved = loadRunState(files.state);
  if (!sameConfig(saved.config, cfg)) {
    throw new Error(`${files.state} was trained with config ${JSON.stringify(saved.config)}, not the requested ${JSON.stringify(cfg)}; use another output directory`);
  }
  if (!existsSync(files.tokenizer)) throw new Error(`${files.state} exists but ${files.tokenizer} does not: the run directory is incomplete`);
  return saved;
}

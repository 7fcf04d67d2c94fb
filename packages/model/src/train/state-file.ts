import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Tensor, encodeTensors } from '@blyan/block';
import type { ModelConfig } from '../reference/config.ts';
import { validateConfig } from '../reference/config.ts';
import { parameterShapes } from '../reference/params.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { decodeTensorFile } from './checkpoint.ts';
import type { TrainState } from './backend.ts';
import { paramsToTensors, tensorsToParams } from './param-tensors.ts';
import { type RunSpec, validateRunSpec } from './run-spec.ts';

export const STATE_FORMAT = 'blyan-train-state-v1';

/** Running sums of the steps since the last log line, so that a resumed run logs the same means. */
export interface LogWindow {
  readonly ce: number;
  readonly aux: number;
  readonly steps: number;
}

/** A training run at a step: what `state.tensors` holds. The sampler's state is (run.seed, state.step). */
export interface SavedRun {
  readonly config: ModelConfig;
  readonly run: RunSpec;
  readonly state: TrainState;
  /** Wall-clock milliseconds spent training so far, over every invocation. */
  readonly elapsedMs: number;
  readonly window: LogWindow;
}

const PREFIX = { params: 'params/', m: 'adam_m/', v: 'adam_v/' } as const;

/** SHA-256 over every tensor's name and bytes in name order: tensors-v1 itself has no checksum. */
function digest(tensors: Readonly<Record<string, Tensor>>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const { data } = tensors[name]!;
    h.update(`${name}\0`);
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

export function encodeRunState(saved: SavedRun): Uint8Array {
  const { config, run, state } = saved;
  const tensors = {
    ...paramsToTensors(state.params, config, PREFIX.params),
    ...paramsToTensors(state.m, config, PREFIX.m),
    ...paramsToTensors(state.v, config, PREFIX.v),
  };
  return encodeTensors(tensors, {
    format: STATE_FORMAT,
    config: JSON.stringify(config),
    run: JSON.stringify(run),
    progress: JSON.stringify({ step: state.step, elapsedMs: saved.elapsedMs, window: saved.window }),
    digest: digest(tensors),
  });
}

/** Writes the run to `path` atomically: a crash leaves the previous state file intact. */
export function saveRunState(path: string, saved: SavedRun): void {
  writeFileAtomic(path, encodeRunState(saved));
}

function parseJSON(where: string, field: string, text: string | undefined): unknown {
  if (text === undefined) throw new Error(`${where}: metadata has no "${field}"`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: metadata "${field}" is not valid JSON: ${(e as Error).message}`);
  }
}

function parseProgress(where: string, x: unknown): { step: number; elapsedMs: number; window: LogWindow } {
  const p = x as { step?: unknown; elapsedMs?: unknown; window?: Partial<Record<keyof LogWindow, unknown>> } | null;
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const w = p?.window;
  if (!p || !isCount(p.step) || !isNumber(p.elapsedMs) || !w || !isNumber(w.ce) || !isNumber(w.aux) || !isCount(w.steps)) {
    throw new Error(`${where}: metadata "progress" is malformed`);
  }
  return { step: p.step, elapsedMs: p.elapsedMs, window: { ce: w.ce, aux: w.aux, steps: w.steps } };
}

/** Parses a state file's bytes, throwing an Error that starts with `where` on any damage or inconsistency. */
export function decodeRunState(bytes: Uint8Array, where: string): SavedRun {
  const { tensors, metadata } = decodeTensorFile(bytes, where);
  if (metadata.format !== STATE_FORMAT) throw new Error(`${where}: not a training state (format ${JSON.stringify(metadata.format)}, expected "${STATE_FORMAT}")`);
  if (metadata.digest !== digest(tensors)) throw new Error(`${where} is corrupt: its tensors do not match the digest recorded with them`);
  const config = parseJSON(where, 'config', metadata.config) as ModelConfig;
  try {
    validateConfig(config);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  let run: RunSpec;
  try {
    run = validateRunSpec(parseJSON(where, 'run', metadata.run));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const progress = parseProgress(where, parseJSON(where, 'progress', metadata.progress));
  const expected = new Set(parameterShapes(config).flatMap(({ name }) => Object.values(PREFIX).map((p) => p + name)));
  for (const name of Object.keys(tensors)) if (!expected.has(name)) throw new Error(`${where}: unexpected tensor "${name}"`);
  const state: TrainState = {
    params: tensorsToParams(tensors, config, where, PREFIX.params),
    m: tensorsToParams(tensors, config, where, PREFIX.m),
    v: tensorsToParams(tensors, config, where, PREFIX.v),
    step: progress.step,
  };
  return { config, run, state, elapsedMs: progress.elapsedMs, window: progress.window };
}

export function loadRunState(path: string): SavedRun {
  return decodeRunState(new Uint8Array(readFileSync(path)), path);
}

import type { Batch } from '../train/sampler.ts';
import { type Window, windowBatch } from './windows.ts';

/** Per-token cross-entropy [B·T] of a batch of windows (which some scorers need, e.g. for their prompts). */
export type WindowLosses = (batch: Batch, windows: readonly Window[]) => Promise<Float32Array>;

/** Cross-entropy summed over the scored targets, and how many there were. */
export interface Score {
  readonly nats: number;
  readonly tokens: number;
}

/** Runs the windows through `lossesOf`, `perBatch` windows at a time, and sums the scored losses. */
export async function scoreWindows(
  lossesOf: WindowLosses,
  stream: Int32Array,
  windows: readonly Window[],
  length: number,
  perBatch: number,
): Promise<Score> {
  let nats = 0;
  let tokens = 0;
  for (let i = 0; i < windows.length; i += perBatch) {
    const group = windows.slice(i, i + perBatch);
    const losses = await lossesOf(windowBatch(stream, group, length), group);
    for (const [b, { scoreFrom }] of group.entries()) {
      for (let t = scoreFrom; t < length; t++) nats += losses[b * length + t]!;
      tokens += length - scoreFrom;
    }
  }
  return { nats, tokens };
}

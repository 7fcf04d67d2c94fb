import type { Address, Hash } from '@blyan/block';
import type { RoundInfo, RoundUnit } from '@blyan/client';
import type { Hex } from 'viem';
import type { PauseReason } from './gate.ts';

export interface ContributeSettings {
  batch: number;
  seqLen: number;
  lr: number;
  /** Top-k density of the delta. */
  density: number;
  pauseWhenHidden: boolean;
  /** The chain-D dataset whose rounds to work in; empty: the model's own train split. */
  dataset: string;
}

/** The browser's defaults; the relay sets H (micro-steps per work unit) for each round. */
export const DEFAULT_CONTRIBUTE: ContributeSettings = { batch: 2, seqLen: 64, lr: 2e-3, density: 0.05, pauseWhenHidden: true, dataset: '' };

/** One work unit as the page lists it: the round it is in, this browser's delta, and the round's verdict. */
export interface UnitView {
  round: number;
  slot: string;
  dataset: string | null;
  base: Hash;
  steps: number;
  shard: { index: number; of: number };
  /** training → submitting → waiting (for the round to fill or time out) → accepted | rejected; unsent: the round closed before the delta arrived. */
  state: 'training' | 'submitting' | 'waiting' | 'accepted' | 'rejected' | 'unsent';
  size: { rawBytes: number; encodedBytes: number; ratio: number; entries: number } | null;
  /** This browser's delta as the round judged it: its own score on its shard sample (nats/token) and its credit. */
  own: { status: RoundInfo['deltas'][number]['status']; improvement: number | null; credit: number | null } | null;
  /** The round as the relay shows it while waiting and once decided. */
  info: Pick<RoundInfo, 'status' | 'reason' | 'block' | 'improvement' | 'lower' | 'credit' | 'genesis' | 'contributors' | 'closes_at'> & { deltas: number } | null;
  /** Why it was not sent (state unsent). */
  note: string | null;
}

export type ToContributor =
  | { type: 'start'; relay: string; pin: Hash; genesisHeaders?: unknown[]; sessionKey: Hex; account: Address; settings: ContributeSettings }
  | { type: 'stop' }
  | { type: 'answering'; on: boolean }
  | { type: 'visibility'; hidden: boolean; pauseWhenHidden: boolean };

export type FromContributor =
  | { type: 'backend'; backend: 'webgpu' | 'cpu'; notice: string | null }
  | { type: 'status'; text: string }
  | { type: 'paused'; reason: PauseReason | null }
  | { type: 'unit'; unit: UnitView; rules: RoundUnit['rules'] }
  | { type: 'step'; round: number; step: number; loss: number; ms: number; tokens: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

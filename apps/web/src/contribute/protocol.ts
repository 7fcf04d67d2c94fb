import type { Address, Hash } from '@blyan/block';
import type { Assignment, ContributionView } from '@blyan/client';
import type { Hex } from 'viem';
import type { PauseReason } from './gate.ts';

export interface ContributeSettings {
  /** Micro-steps (each with its AdamW step) per submission. */
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  /** Top-k density of the delta. */
  density: number;
  pauseWhenHidden: boolean;
}

export const DEFAULT_CONTRIBUTE: ContributeSettings = { steps: 16, batch: 2, seqLen: 64, lr: 2e-3, density: 0.05, pauseWhenHidden: true };

/** One submission as the UI lists it. */
export interface SubmissionView {
  round: number;
  slot: string;
  block: Hash;
  base: Hash;
  id: number | null;
  state: 'submitting' | 'queued' | 'appending' | 'accepted' | 'rejected';
  rebases: number;
  size: { rawBytes: number; encodedBytes: number; ratio: number; entries: number };
  improvement: number | null;
  reason: string | null;
  /** The relay's reason code and its evaluation figures (nats/token), for the plain-language verdict. */
  code: ContributionView['reason'];
  figures: ContributionView['figures'];
  credit: number | null;
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
  | { type: 'assignment'; round: number; assignment: Assignment }
  | { type: 'step'; round: number; step: number; loss: number; ms: number; tokens: number }
  | { type: 'submission'; submission: SubmissionView }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

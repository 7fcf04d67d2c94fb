import type { PauseReason } from './gate.ts';

const PAUSED: Record<PauseReason, string> = { off: 'Off.', answering: 'Paused: answering your prompt first.', hidden: 'Paused while this tab is hidden.' };

/**
 * The contribute status line: it follows the switch at once (unticked, it never shows training),
 * says "stopping" while the round in flight winds down, and otherwise shows the worker's own line.
 */
export function contributeStatus(v: { on: boolean; running: boolean; paused: PauseReason | null; status: string }, signedIn: boolean): string {
  if (!v.on) {
    if (v.running) return 'Stopping: the step in progress finishes, nothing more is trained or sent.';
    return signedIn ? 'Off. Tick the box above to start contributing.' : 'Off. Sign in (top right) to contribute.';
  }
  return v.paused !== null ? PAUSED[v.paused] : v.status;
}

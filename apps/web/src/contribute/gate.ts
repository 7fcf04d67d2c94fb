/** Why training is not running now. */
export type PauseReason = 'off' | 'answering' | 'hidden';

export interface GateState {
  /** The user's contribute switch. */
  on: boolean;
  /** An answer is being generated. */
  answering: boolean;
  hidden: boolean;
  pauseWhenHidden: boolean;
}

/**
 * The training scheduler's rule: inference has absolute priority. A micro-step may start only
 * while contributing is on, no answer is being generated and (if the user asked) the tab is
 * visible; the trainer asks before every micro-step, so a prompt pauses training within one.
 */
export class TrainingGate {
  private s: GateState = { on: false, answering: false, hidden: false, pauseWhenHidden: true };
  private waiters: (() => void)[] = [];

  constructor(private readonly onChange: (paused: PauseReason | null) => void = () => {}) {}

  get paused(): PauseReason | null {
    if (!this.s.on) return 'off';
    if (this.s.answering) return 'answering';
    return this.s.hidden && this.s.pauseWhenHidden ? 'hidden' : null;
  }

  set(change: Partial<GateState>): void {
    this.s = { ...this.s, ...change };
    this.onChange(this.paused);
    if (this.paused === null || this.paused === 'off') {
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
    }
  }

  /** Resolves true when a micro-step may run, false once contributing is switched off. */
  async turn(): Promise<boolean> {
    while (this.paused !== null && this.paused !== 'off') await new Promise<void>((r) => this.waiters.push(r));
    return this.paused === null;
  }
}

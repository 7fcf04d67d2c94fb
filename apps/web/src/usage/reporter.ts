import { type AccountsClient, RelayError } from '@blyan/client';
import { RELAY_LIMITS, type ReportBinding, type ReportLimits, addTokens, reportText, splitReports, takeTokens } from './reports.ts';

/** What this session reported so far, for the page. */
export interface UsageView {
  /** Reports the relay recorded, and the tokens they carried. */
  reports: number;
  tokens: number;
  /** Tokens waiting for the next report. */
  pending: number;
  error: string | null;
}

export const NO_USAGE: UsageView = { reports: 0, tokens: 0, pending: 0, error: null };

export interface ReporterOptions {
  /** What every report is bound to: the signed-in account and the relay's sign-in origin (this page's). */
  bind: ReportBinding;
  /** EIP-191 (personal_sign) signature of `message` by the session key. */
  sign(message: string): Promise<string>;
  onChange(view: UsageView): void;
  limits?: ReportLimits;
  sleep?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Reports the signed-in session's usage to the relay: each answer's block → tokens joins a pending
 * tally, which is sent at once as signed reports, one at a time. A rate limit waits `Retry-After`;
 * an unreachable relay or a 5xx keeps the tally for the next answer; any other refusal drops that
 * report's tokens, which the relay would refuse again. Never throws: the chat does not depend on it.
 */
export class UsageReporter {
  private pending = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private view: UsageView = NO_USAGE;

  constructor(
    private readonly accounts: Pick<AccountsClient, 'reportUsage'>,
    private readonly options: ReporterOptions,
  ) {}

  /** Adds one answer's tokens per expert block and sends everything pending; resolves when that is done. */
  record(tokens: Readonly<Record<string, number>>): Promise<void> {
    if (this.closed) return this.queue;
    this.pending = addTokens(this.pending, tokens);
    this.show({});
    this.queue = this.queue.then(() => this.drain());
    return this.queue;
  }

  /** Stops reporting (logout): nothing more is sent, what is pending is dropped. */
  close(): void {
    this.closed = true;
  }

  private show(change: Partial<UsageView>): void {
    this.view = { ...this.view, ...change, pending: [...this.pending.values()].reduce((s, n) => s + n, 0) };
    this.options.onChange(this.view);
  }

  private async drain(): Promise<void> {
    for (;;) {
      const [experts] = splitReports(this.pending, this.options.limits ?? RELAY_LIMITS);
      if (this.closed || experts === undefined) return;
      const text = reportText(experts, Date.now(), this.options.bind);
      try {
        const answer = await this.accounts.reportUsage(text, await this.options.sign(text));
        if (answer.kind === 'rate_limited') {
          await (this.options.sleep ?? sleep)(answer.retryAfterMs);
          continue;
        }
        this.pending = takeTokens(this.pending, experts);
        this.show({ reports: this.view.reports + 1, tokens: this.view.tokens + answer.tokens, error: null });
      } catch (e) {
        const later = !(e instanceof RelayError) || e.status === 0 || e.status >= 500;
        if (!later) this.pending = takeTokens(this.pending, experts);
        this.show({ error: `usage report ${later ? 'not sent, kept for the next answer' : 'refused'}: ${(e as Error).message}` });
        if (later) return;
      }
    }
  }
}

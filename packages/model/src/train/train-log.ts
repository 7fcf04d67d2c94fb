import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';

/** One log entry, written every logEvery steps. Losses are in nats per token. */
export interface LogRecord {
  readonly step: number;
  readonly tokens: number;
  readonly lr: number;
  /** Mean training cross-entropy over the steps since the previous entry. */
  readonly train_loss: number;
  /** Mean load-balancing loss over the same steps. */
  readonly aux: number;
  /** Cross-entropy on the fixed validation windows. */
  readonly val_loss: number;
  readonly val_bpb: number;
  /** Training throughput since the previous entry (this process only). */
  readonly tokens_per_s: number;
  /** Training wall-clock time over every invocation of the run. */
  readonly elapsed_s: number;
}

export const LOG_FILE = 'train.log';
export const JSONL_FILE = 'train.jsonl';

function jsonStep(line: string): number {
  try {
    return (JSON.parse(line) as Partial<LogRecord>).step ?? Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function formatRecord(r: LogRecord): string {
  return [
    `step ${r.step}`,
    `tokens ${r.tokens}`,
    `lr ${r.lr.toExponential(2)}`,
    `train ${r.train_loss.toFixed(4)}`,
    `aux ${r.aux.toFixed(4)}`,
    `val ${r.val_loss.toFixed(4)}`,
    `val_bpb ${r.val_bpb.toFixed(4)}`,
    `${Math.round(r.tokens_per_s)} tok/s`,
    clock(r.elapsed_s),
  ].join(' | ');
}

/** `train.log` (one readable line per entry) and `train.jsonl` (the same as JSON) in a run directory. */
export class TrainLog {
  private readonly text: string;
  private readonly jsonl: string;

  constructor(dir: string) {
    this.text = join(dir, LOG_FILE);
    this.jsonl = join(dir, JSONL_FILE);
  }

  append(r: LogRecord): void {
    appendFileSync(this.text, `${formatRecord(r)}\n`);
    appendFileSync(this.jsonl, `${JSON.stringify(r)}\n`);
  }

  /**
   * Drops entries after `step` (what a run killed after its last checkpoint logged, and will log
   * again) and any line torn by a kill in mid-write.
   */
  truncateAfter(step: number): void {
    const stepOf = {
      [this.text]: (line: string) => Number(/^step (\d+) /.exec(line)?.[1]),
      [this.jsonl]: jsonStep,
    };
    for (const [path, parse] of Object.entries(stepOf)) {
      if (!existsSync(path)) continue;
      const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
      const kept = lines.filter((l) => parse(l) <= step);
      if (kept.length !== lines.length) writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
    }
  }
}

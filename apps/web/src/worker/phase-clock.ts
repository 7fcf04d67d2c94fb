/** Milliseconds covered by at least one of `spans` ([start, end] pairs), each clipped to end by `until`. */
export function coveredMs(spans: readonly (readonly [number, number])[], until = Infinity): number {
  const sorted = spans.map(([a, b]) => [a, Math.min(b, until)] as const).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [start, end] = [-Infinity, -Infinity];
  for (const [a, b] of sorted) {
    if (a > end) {
      if (end > start) total += end - start;
      [start, end] = [a, b];
    } else end = Math.max(end, b);
  }
  return end > start ? total + end - start : total;
}

/**
 * Where the time of a start or an answer went: each named phase's spans (they may overlap: blocks
 * download in parallel, a prefetch runs during decode), summed as the wall time at least one of
 * them was running. The phases of one clock may overlap each other, so they need not add up to
 * the whole.
 */
export class PhaseClock {
  private readonly spans = new Map<string, [number, number][]>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records the span of `f` under `phase`, and returns its result. */
  async time<T>(phase: string, f: () => Promise<T>): Promise<T> {
    const t0 = this.now();
    try {
      return await f();
    } finally {
      this.add(phase, t0, this.now());
    }
  }

  timeSync<T>(phase: string, f: () => T): T {
    const t0 = this.now();
    try {
      return f();
    } finally {
      this.add(phase, t0, this.now());
    }
  }

  add(phase: string, start: number, end: number): void {
    const list = this.spans.get(phase) ?? [];
    list.push([start, end]);
    this.spans.set(phase, list);
  }

  /** Phase → milliseconds (wall time it was running, up to `until`), in the order phases first ran. */
  totals(until = Infinity): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [phase, spans] of this.spans) {
      const ms = coveredMs(spans, until);
      if (ms > 0) out[phase] = ms;
    }
    return out;
  }
}

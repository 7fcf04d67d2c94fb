export const MiB = 1024 * 1024;

/** Median seconds per run of `fn` over `runs` runs, after one warm-up run. */
export async function time(fn: () => unknown, runs = 5): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await fn();
    t.push((performance.now() - s) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

export const mbps = (bytes: number, secs: number) => `${(bytes / MiB / secs).toFixed(0)} MiB/s`;

/** Learning-rate schedule: linear warmup to `peak`, then cosine decay to `finalFraction` of it. */
export interface Schedule {
  readonly peak: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly finalFraction: number;
}

/** The learning rate of step `step` (0-based): (step + 1) / warmup · peak during warmup. */
export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.peak * (s.finalFraction + (1 - s.finalFraction) * cosine);
}

/** The benchmarks' small statistics, one copy for every bench script (relay, packages, apps/web). */

/** The middle of `xs` once sorted (the upper of the two middles for an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The arithmetic mean of `xs`. */
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

import type { Hash } from '@blyan/block';

/** A seeded generator of uniform numbers in [0, 1) (mulberry32), so simulations repeat exactly. */
export function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Standard normal draws from `u` (Box–Muller). */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** A dense random vector of `n` entries, normal with standard deviation `sd`. */
export function randomVector(n: number, sd: number, g: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => sd * g());
}

/** Per-window losses around `mean`: windows differ in difficulty, as real text does. */
const windows = (mean: number): number[] => [0.3, -0.2, 0.1, -0.2].map((d) => mean + d);

/** A submission of `change` whose every sample window moves from around `before` to around `after`; its hash stands for its delta bytes. */
export function submission(id: string, change: Record<string, Float32Array>, before: number, after: number, hash = `0x${id.padStart(64, '0')}`) {
  return { id, author: `author-${id}`, hash: hash as Hash, change, before: windows(before), after: windows(after) };
}

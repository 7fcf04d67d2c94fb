/** L1 tiers, best first: training shards draw from gold first. */
export const TIERS = ['gold', 'silver', 'experimental'] as const;
export type Tier = (typeof TIERS)[number];

/** The L1 thresholds (docs/ARCHITECTURE.md, "Data hub", says why these numbers). */
export interface TierThresholds {
  readonly gold: { readonly maxBpb: number; readonly maxOverlap: number };
  readonly silver: { readonly maxBpb: number; readonly maxOverlap: number };
}

export const DEFAULT_TIERS: TierThresholds = {
  gold: { maxBpb: 3.0, maxOverlap: 0.5 },
  silver: { maxBpb: 4.5, maxOverlap: 0.7 },
};

/** Gold when the model reads it well and it is mostly new, silver when either is middling, else experimental. */
export function tierOf(bpb: number, overlap: number, t: TierThresholds = DEFAULT_TIERS): Tier {
  if (bpb <= t.gold.maxBpb && overlap < t.gold.maxOverlap) return 'gold';
  if (bpb <= t.silver.maxBpb && overlap < t.silver.maxOverlap) return 'silver';
  return 'experimental';
}

export type TierCounts = Record<Tier, number>;

export function countTiers(tiers: Iterable<Tier>): TierCounts {
  const c: TierCounts = { gold: 0, silver: 0, experimental: 0 };
  for (const t of tiers) c[t]++;
  return c;
}

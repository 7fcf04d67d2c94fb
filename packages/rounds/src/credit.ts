/** Weights are made integers at this resolution relative to the largest one before the exact split. */
const RESOLUTION = 2n ** 40n;

/**
 * `pool` credit units (a non-negative safe integer) split in proportion to `weights`, in whole
 * units by the largest-remainder method: each gets the floor of its exact share, and the units
 * left go one each to the largest remainders (ties to the lower index). Weights ≤ 0 (or not
 * finite) get nothing. The parts always sum to `pool` when any weight is positive, else all are 0.
 */
export function splitCredit(pool: number, weights: readonly number[]): number[] {
  if (!(Number.isSafeInteger(pool) && pool >= 0)) throw new RangeError(`the pool must be a non-negative safe integer, got ${pool}`);
  const positive = weights.map((w) => (Number.isFinite(w) && w > 0 ? w : 0));
  const max = Math.max(0, ...positive);
  if (max === 0) return weights.map(() => 0);
  const units = positive.map((w) => BigInt(Math.round((w / max) * Number(RESOLUTION))));
  const total = units.reduce((s, u) => s + u, 0n);
  const p = BigInt(pool);
  const parts = units.map((u) => (p * u) / total);
  let left = p - parts.reduce((s, q) => s + q, 0n);
  const order = units.map((u, i) => ({ i, rem: (p * u) % total })).sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

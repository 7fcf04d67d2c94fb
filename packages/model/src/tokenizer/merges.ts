/** Ids 0..255 are the bytes; merge i creates id 256 + i from the pair of ids it joins. */
export const BYTE_TOKENS = 256;

export type Merge = readonly [number, number];

function isId(x: unknown, limit: number): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) < limit;
}

/**
 * Throws unless `merges` is an array of [a, b] id pairs where merge i joins ids that exist
 * before it (bytes or earlier merges, so below 256 + i) and no pair is merged twice.
 */
export function validateMerges(merges: unknown): asserts merges is Merge[] {
  if (!Array.isArray(merges)) throw new Error(`invalid tokenizer: merges must be an array, got ${typeof merges}`);
  const seen = new Map<string, number>();
  merges.forEach((m: unknown, i) => {
    if (!Array.isArray(m) || m.length !== 2) throw new Error(`invalid tokenizer: merges[${i}] must be a pair [a, b]`);
    const limit = BYTE_TOKENS + i;
    m.forEach((x: unknown, j) => {
      if (!isId(x, limit)) {
        const value = JSON.stringify(x);
        const allowed = `merge ${i} may use integer ids 0..${limit - 1}`;
        throw new Error(`invalid tokenizer: merges[${i}][${j}] = ${value} is not a defined id (${allowed})`);
      }
    });
    const key = `${m[0]},${m[1]}`;
    const first = seen.get(key);
    if (first !== undefined) throw new Error(`invalid tokenizer: merges[${i}] repeats merges[${first}] [${key}]`);
    seen.set(key, i);
  });
}

/** Rank of each merge by pair, keyed `a * base + b` with `base` above every id. */
export class MergeRanks {
  private readonly ranks = new Map<number, number>();
  private readonly base: number;

  constructor(private readonly merges: readonly Merge[]) {
    this.base = BYTE_TOKENS + merges.length;
    merges.forEach(([a, b], rank) => this.ranks.set(a * this.base + b, rank));
  }

  /**
   * BPE on one chunk: while some adjacent pair has a merge, join every occurrence (left to right)
   * of the lowest-ranked one. This replays training's merges in order, so it segments a chunk
   * exactly as training did.
   */
  apply(bytes: Uint8Array): number[] {
    let ids = Array.from(bytes);
    while (ids.length > 1) {
      let best = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const rank = this.ranks.get(ids[i]! * this.base + ids[i + 1]!);
        if (rank !== undefined && (best < 0 || rank < best)) best = rank;
      }
      if (best < 0) break;
      ids = joinPair(ids, this.merges[best]!, BYTE_TOKENS + best);
    }
    return ids;
  }
}

/** Replaces every non-overlapping occurrence of `pair`, left to right, by `id`; returns `ids` itself when none. */
export function joinPair(ids: number[], [a, b]: Merge, id: number): number[] {
  let out: number[] | undefined;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === a && ids[i + 1] === b) {
      out ??= ids.slice(0, i);
      out.push(id);
      i++;
    } else if (out) {
      out.push(ids[i]!);
    }
  }
  return out ?? ids;
}

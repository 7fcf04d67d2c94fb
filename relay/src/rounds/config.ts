import type { Tier } from '@blyan/data';
import type { OuterOptions, PairedTestOptions, ScreenOptions } from '@blyan/rounds';

/** How a round on a chain-D dataset is judged and paid, beyond what every round does. */
export interface DatasetRoundsConfig {
  /** Tiers of the dataset's public documents work units train on. */
  readonly tiers: readonly Tier[];
  /** Non-inferiority on the genesis hidden split: the candidate may be worse than the genesis model by at most this many bits per byte, at `confidence`. */
  readonly genesisBudgetBpb: number;
  readonly confidence: number;
  /** Share of an accepted round's pool paid to the dataset's uploaders (in proportion to the public documents each accepted upload brought). */
  readonly uploaderShare: number;
  /** A dataset whose held-out part tokenizes to fewer tokens than this cannot be judged: no round opens on it. */
  readonly minHiddenTokens: number;
  /** Expert slots its rounds take turns on: those its public text is routed to most (dataset-slots.ts). */
  readonly experts: number;
  /**
   * Replay (rehearsal): the share of a work unit's micro-steps on a shard of the genesis train split
   * (GET /v1/shards/:index) interleaved with its dataset shard's, so the experts trained for the new
   * data keep rehearsing the old. 0: none. At least 0 and below 1.
   */
  readonly replay: number;
}

/** How rounds are run and judged. */
export interface RoundsConfig {
  /** H: local AdamW micro-steps each work unit asks for. */
  readonly steps: number;
  /** Work units a round hands out before the next slot's round opens; it is judged once all of them hold a delta. */
  readonly contributors: number;
  /** A round open this long is judged with the deltas it has (ms). */
  readonly openMs: number;
  /** Hidden-pool windows the aggregate is judged on (drawn by the round's committed seed). */
  readonly windows: number;
  /** Windows of a contributor's own shard its delta is scored on. */
  readonly scoreWindows: number;
  /** Earlier rounds of the same slot whose deltas a new one is checked against for copies. */
  readonly history: number;
  readonly test: PairedTestOptions;
  readonly screen: ScreenOptions;
  readonly outer: OuterOptions;
  readonly dataset: DatasetRoundsConfig;
}

/**
 * Production, as `pnpm bench:swarm` ran it (docs/BENCHMARKS.md, "Swarm at production settings,
 * 128 windows and outer lr 0.1"): 8 contributors per round at the browser's H = 16; the aggregate
 * judged on 128 windows at 99 % one-sided confidence with a 1e-4 nats/token margin (on a dataset,
 * 128 of its held-out part and 128 of the genesis split for the non-inferiority test: at 32 the
 * genesis test's 99 % half-width was about 0.02 nats/token against a 0.029 budget, so it refused
 * rounds whose real cost was a third of the budget; 128 halves the half-width for about 23 s more
 * relay CPU per round); each delta kept only if it passes the same test at 99 % on 8 windows of its
 * own shard with a 0.02 nats/token margin (honest deltas gained 0.15–0.9 there, a noise delta once
 * passed at margin 0 with 0.007); copies at cosine > 0.99 over the last 4 rounds; outer step lr 0.1
 * with Nesterov momentum 0.9 (at 0.05 the genesis v2 run gained 12.6 % on mail in 20 rounds, too
 * slow; at lr 1 one round cost the genesis domain a quarter of its 0.01 bpb budget). A round on a
 * dataset trains on its gold and silver documents, is judged on its held-out part with the same
 * test, and must keep the genesis domain within 0.01 bits per byte of the genesis model at 99 %
 * (the bench's budget); a tenth of its pool goes to the dataset's uploaders. Its rounds take turns
 * on the 2 experts its text is routed to most (the bench's 2 slots). Its units replay the genesis
 * train split on a quarter of their micro-steps: over 20 rounds of the swarm, replay 0.25 gained
 * −16.2 % on mail at +0.0060 bpb on genesis with 83 % of rounds accepted (no replay: 68 %); 0.5
 * was accepted every round but its own-shard screen dropped 29 % of honest deltas (0.25: 17 %)
 * (docs/BENCHMARKS.md, "Swarm with genesis replay in work units").
 */
export const DEFAULT_ROUNDS: RoundsConfig = {
  steps: 16,
  contributors: 8,
  openMs: 15 * 60_000,
  windows: 128,
  scoreWindows: 8,
  history: 4,
  test: { confidence: 0.99, margin: 1e-4 },
  screen: { maxCosine: 0.99, own: { confidence: 0.99, margin: 0.02 } },
  outer: { lr: 0.1, momentum: 0.9 },
  dataset: { tiers: ['gold', 'silver'], genesisBudgetBpb: 0.01, confidence: 0.99, uploaderShare: 0.1, minHiddenTokens: 256, experts: 2, replay: 0.25 },
};

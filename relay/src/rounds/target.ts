import { createHash } from 'node:crypto';
import { type Address, type Hash, toHash } from '@blyan/block';
import { type ParamMap, Tokenizer } from '@blyan/model';
import { evalStream } from '@blyan/model/eval';
import { type PairedResult, bpbBudget, pairedTest, twoDomainVerdict } from '@blyan/rounds';
import type { EvalContext } from '../contributions/hidden-eval.ts';
import { drawWindows } from '../contributions/sample.ts';
import type { DataHubStore } from '../data/store.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { RoundsConfig } from './config.ts';
import { roundWindows, scoredTokens, windowLosses } from './window-losses.ts';

/** A document work units train on: shards are cut from these, in order. */
export interface TrainDoc {
  readonly id: string;
  readonly text: string;
}

/** What judging a round's aggregate found. */
export interface Judged {
  readonly accepted: boolean;
  /** The paired test on the target's held-out windows (drawn by the round's seed): base against candidate. */
  readonly test: PairedResult;
  /** On a dataset: the non-inferiority test against the genesis model on the genesis hidden split. */
  readonly genesis: { readonly test: PairedResult; readonly bound: number } | null;
  /** Mean loss (nats/token) of base and candidate on the target's windows, and the tokens judged: what the verdict signs. */
  readonly baseline: number;
  readonly candidate: number;
  readonly tokens: number;
}

/** An account the accepted round also pays (a dataset's uploader), with its weight in the uploaders' share. */
export interface Source {
  readonly account: Address;
  readonly weight: number;
}

/**
 * What a round trains and is judged on: the meta block's splits (train shards, keyed hidden pool),
 * or a chain-D dataset (its public part, its held-out part, and non-inferiority on the genesis
 * hidden split).
 */
export interface RoundTarget {
  /** null: the meta block's splits. */
  readonly dataset: string | null;
  /** The target's version under `meta`: the dataset's head (null for the meta block's splits, which move only with the meta block). */
  version(meta: Hash): Promise<Hash | null>;
  /**
   * The public documents work units' shards are cut from at `version` (a version() answer; a round
   * keeps the one it opened on), the same for the same version however the data hub's store
   * (accounts.sqlite, or PostgreSQL shared by replicas and workers) moves on.
   */
  docs(version: Hash | null): Promise<readonly TrainDoc[]>;
  /** Where a unit's shard at `version` is served. */
  shardUrl(index: number, version: Hash | null): string;
  /** Base against candidate (whole models) on windows the round's seed draws, at `version`. */
  judge(ctx: EvalContext, base: ParamMap, candidate: ParamMap, seed: Hash, version: Hash | null): Promise<Judged>;
  /** Who else an accepted round at `version` pays. */
  sources(version: Hash | null): Promise<Source[]>;
}

/** The mean of per-window losses (nats/token). */
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The seed of the genesis-domain windows: SHA-256 of the round's seed and a label, so it is committed with the seed and unknown until revealed. */
const genesisSeed = (seed: Hash): Hash => toHash(createHash('sha256').update(`${seed}:genesis-domain`).digest());

async function paired(ctx: EvalContext, stream: Int32Array, length: number, base: ParamMap, candidate: ParamMap, seed: Hash, count: number, perBatch: number) {
  const windows = roundWindows(ctx, drawWindows(seed, stream.length, length, count), length);
  return {
    base: await windowLosses(ctx, base, stream, windows, length, perBatch),
    candidate: await windowLosses(ctx, candidate, stream, windows, length, perBatch),
    tokens: scoredTokens(windows, length),
  };
}

/** The meta block's splits: the train split's shards, judged on the keyed hidden pool. */
export function metaSplitTarget(trainDocs: () => readonly TrainDoc[], config: RoundsConfig, perBatch: number): RoundTarget {
  return {
    dataset: null,
    version: async () => null,
    docs: async () => trainDocs(),
    shardUrl: (index) => `/v1/shards/${index}`,
    async judge(ctx, base, candidate, seed) {
      const p = await paired(ctx, ctx.stream, ctx.length, base, candidate, seed, config.windows, perBatch);
      const test = pairedTest(p.base, p.candidate, config.test);
      return { accepted: test.accepted, test, genesis: null, baseline: mean(p.base), candidate: mean(p.candidate), tokens: p.tokens };
    },
    sources: async () => [],
  };
}

export interface DatasetTargetDeps {
  readonly index: IndexStore;
  readonly data: DataHubStore;
  readonly config: RoundsConfig;
  readonly perBatch: number;
  /** The genesis model (every slot at its first block) under a meta block: the reference of the non-inferiority test. */
  readonly genesis: (ctx: EvalContext) => Promise<ParamMap>;
}

/**
 * The uploads whose parts chain D holds up to dataset head `head` (null: none), from the blocks'
 * `upload`: what the data hub's store knows of the dataset at that version.
 */
export async function uploadsAt(index: IndexStore, head: Hash | null): Promise<number[]> {
  const uploads = new Set<number>();
  for (let at = head; at !== null; ) {
    const { header } = (await index.block(at))!;
    if (typeof header.meta.upload === 'number') uploads.add(header.meta.upload);
    at = header.prev;
  }
  return [...uploads];
}

/** The held-out part of dataset `name` at chain-D head `head` as one token stream, with the window length it allows. */
export async function heldOutStream(d: { index: IndexStore; data: DataHubStore }, name: string, head: Hash | null, ctx: EvalContext): Promise<{ stream: Int32Array; length: number }> {
  const stream = evalStream(Tokenizer.fromJSON(ctx.payload.tokenizer), (await d.data.heldOutDocs(name, await uploadsAt(d.index, head))).map((doc) => doc.text));
  return { stream, length: Math.min(ctx.length, stream.length - 1) };
}

/**
 * Chain-D dataset `name`: work units train on shards of its public documents in the configured
 * tiers, of the uploads chain D holds up to the round's dataset head (uploadsAt); the aggregate
 * must pass the paired test on windows of its held-out part AND stay no worse than the genesis
 * model on the genesis hidden split by more than the budget (twoDomainVerdict, the budget in bits
 * per byte turned into nats/token at the pool's bytes per token). Its uploaders share the
 * uploaders' part of the pool, each upload weighted by the public documents it brought.
 */
export function datasetTarget(name: string, d: DatasetTargetDeps): RoundTarget {
  const o = d.config.dataset;
  return {
    dataset: name,
    async version(meta) {
      const version = await d.index.versionOf(meta);
      return version === undefined ? null : ((await d.index.datasetHeads(version))[name] ?? null);
    },
    docs: async (version) => (await d.data.trainingDocs(name, await uploadsAt(d.index, version), o.tiers)).map((doc) => ({ id: doc.sha256, text: doc.text })),
    shardUrl: (index, version) => `/v1/datasets/${name}/versions/${version}/shards/${index}`,
    async judge(ctx, base, candidate, seed, version) {
      const held = await heldOutStream(d, name, version, ctx);
      const fresh = await paired(ctx, held.stream, held.length, base, candidate, seed, d.config.windows, d.perBatch);
      const old = await paired(ctx, ctx.stream, ctx.length, await d.genesis(ctx), candidate, genesisSeed(seed), d.config.windows, d.perBatch);
      const bound = bpbBudget(o.genesisBudgetBpb, ctx.bytes, ctx.stream.length - 1);
      const v = twoDomainVerdict(fresh, old, { test: d.config.test, confidence: o.confidence, bound });
      return { accepted: v.accepted, test: v.improves, genesis: { test: v.keeps, bound }, baseline: mean(fresh.base), candidate: mean(fresh.candidate), tokens: fresh.tokens };
    },
    async sources(version) {
      const weights = new Map<Address, number>();
      for (const id of await uploadsAt(d.index, version)) {
        const u = await d.data.get(id);
        if (u?.name !== name) continue;
        const brought = (await d.data.docs(id)).filter((doc) => !doc.hidden && doc.settled !== 'drop').length;
        weights.set(u.account, (weights.get(u.account) ?? 0) + brought);
      }
      return [...weights].map(([account, weight]) => ({ account, weight }));
    },
  };
}

import { createHash } from 'node:crypto';
import { type Address, type Block, type Hash, blockHash, buildBlock, payloadHash, toHash } from '@blyan/block';
import { type SignedVerdict, parseVerdict, sampleCommitment, signVerdict } from '@blyan/chain';
import { DeltaError, applyDelta, compression, decodeDelta, deltaNorm, paramsNorm } from '@blyan/delta';
import { type ParamMap, Tokenizer } from '@blyan/model';
import { encodeSlotPayload, slotParams } from '@blyan/model/blocks';
import { evalStream } from '@blyan/model/eval';
import { type Seen, type Submission, aggregate, combine, roundCredit, splitCredit } from '@blyan/rounds';
import { type Shard, shardBody } from '../contributions/assignment.ts';
import type { AccountsConfig } from '../contributions/config.ts';
import type { EvalContext } from '../contributions/hidden-eval.ts';
import type { DataHubStore } from '../data/store.ts';
import { NO_EVALUATOR, namedEvaluator } from '../contributions/judging.ts';
import type { WorkerDeps } from '../contributions/worker.ts';
import { type Refusal, refuse } from '../contributions/refusal.ts';
import { drawWindows, freshSample } from '../contributions/sample.ts';
import { REWARDS_ACCOUNT, userAccount } from '../rewards/journal.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { RoundsConfig } from './config.ts';
import { type Claim, type Decision, type DeltaOutcome, type DeltaRow, type RoundRow, type RoundStore, type SourceCredit, roundUploaders } from './store.ts';
import { datasetSlots } from './dataset-slots.ts';
import { type UnitReplay, unitReplay } from './replay.ts';
import { type RoundTarget, type TrainDoc, datasetTarget, heldOutStream, mean, metaSplitTarget } from './target.ts';
import { roundWindows, windowLosses } from './window-losses.ts';

/** Who judges: the name a claim is made under (host and process), and how long a claim holds before another judge may take the round. */
export interface JudgeName {
  readonly name: string;
  readonly leaseMs: number;
}

/** The evaluation worker's dependencies, with the round store, the data hub's store, both configurations and the judge's name. */
export type RoundsDeps = Omit<WorkerDeps, 'store' | 'config'> & {
  readonly store: RoundStore;
  readonly judge: JudgeName;
  readonly data: DataHubStore;
  readonly accounts: AccountsConfig;
  readonly config: RoundsConfig;
};

/**
 * A work unit: train `slot` from `base` on `shard` (of `dataset`, or of the meta block's train
 * split) for `steps` micro-steps, on a dataset with `replay`'s share of them on a genesis train
 * shard, and submit the delta to `round`.
 */
export interface WorkUnit {
  readonly round: number;
  readonly meta: Hash;
  readonly dataset: string | null;
  readonly slot: string;
  readonly base: Hash;
  readonly steps: number;
  readonly shard: Shard & { readonly url: string };
  /** On a dataset: the genesis train-split shard the unit rehearses and the share of micro-steps on it (DEFAULT_ROUNDS.dataset.replay); null on the meta block's splits. */
  readonly replay: UnitReplay | null;
}

/** How a round ended. */
export interface RoundResult {
  readonly round: number;
  readonly accepted: boolean;
  readonly reason: string | null;
  readonly block: Hash | null;
}

/** Windows of a dataset's public text whose routing picks its experts: enough to rank them, few enough to run on the CPU reference in seconds. */
const ROUTING_WINDOWS = 4;
/** The seed of a delta's shard sample: SHA-256 of the round's seed and the delta's id, so it stays unknown until the seed is revealed. */
const scoreSeed = (seed: Hash, id: number): Hash => toHash(createHash('sha256').update(`${seed}:${id}`).digest());

/** How a decided round ended, from its row. */
const resultOf = (r: RoundRow): RoundResult => ({ round: r.id, accepted: r.status === 'accepted', reason: r.reason, block: r.block });

/**
 * Rounds per slot. `unit` hands a signed-in account a work unit in the open round that still has
 * room (else opens the next expert slot's round on its head, with a fresh committed seed; each unit
 * of a round gets its own shard); `submit` stores the account's delta after the intake bounds
 * (density, norm). A judge claims a due round (RoundStore.claim: full, or open past its time) and
 * judges it: each delta's loss before and after on a sample of its own shard, copies and hurting
 * deltas dropped (screen), the rest averaged into one Nesterov outer step, the aggregate block
 * judged by the paired test on hidden-pool windows the round's seed draws, the verdict signed
 * (revealing the seed), the block appended with it, and the pool credited to the kept authors in
 * proportion to their own improvement. The embedded relay judges in-process, one round at a time
 * (`closeDue`, `close`); `blyan worker` processes call `judgeNext`. Whatever two judges do twice
 * (a claim that ran out), the store does once: the first verdict stored is the round's, and its
 * credit is paid once.
 */
export class Rounds {
  private readonly queue = new SerialQueue();
  /** Rounds this process is judging, by id. */
  private readonly judging = new Map<number, Promise<RoundResult>>();
  /** Whether a pass over the due rounds is queued and not yet started. */
  private passQueued = false;
  private readonly genesisModels = new Map<Hash, Promise<ParamMap>>();
  /** Per dataset, the `meta:version` whose held-out part was counted large enough: tokenized once per version, not per request. */
  private readonly heldOutChecked = new Map<string, string>();
  /** Per dataset, the expert slots its rounds train, and the `meta:version` they were chosen under. */
  private readonly experts = new Map<string, { key: string; slots: string[] }>();
  /** The meta block's splits: what a round trains and is judged on unless it names a dataset. */
  readonly metaSplit: RoundTarget;

  constructor(private readonly d: RoundsDeps) {
    this.metaSplit = metaSplitTarget(d.accounts.trainDocs, d.config, d.accounts.eval.perBatch);
  }

  /** The target of a round: its dataset, or the meta block's splits. */
  private targetOf(dataset: string | null): RoundTarget {
    const { index, data, config, accounts } = this.d;
    return dataset === null ? this.metaSplit : datasetTarget(dataset, { index, data, config, perBatch: accounts.eval.perBatch, genesis: (ctx) => this.genesisModel(ctx) });
  }

  /**
   * Chain-D dataset `name` as a round target, if rounds can run on it: it has a head under the
   * meta head, public documents in the trained tiers, and a held-out part of at least
   * `minHiddenTokens` tokens to judge on. The target returned keeps the public documents read for
   * that check (for that dataset version), so the request it serves (a unit, a shard) reads them from
   * the data store once.
   */
  async dataset(name: string): Promise<RoundTarget | Refusal> {
    const { index, evaluator, data, config } = this.d;
    const meta = await index.metaHead();
    if (meta === null) return refuse(503, 'no_model', 'the relay holds no model');
    const target = this.targetOf(name);
    const version = await target.version(meta);
    if (version === null) return refuse(404, 'no_dataset', `there is no accepted dataset ${name} on chain D`);
    const docs = await target.docs(version);
    if (docs.length === 0) return refuse(422, 'dataset_unjudgeable', `dataset ${name} has no public documents in the tiers rounds train on (${config.dataset.tiers.join(', ')})`);
    const checked = `${meta}:${version}`;
    if (this.heldOutChecked.get(name) !== checked) {
      const held = (await heldOutStream({ index, data }, name, version, await evaluator.context(meta))).stream.length;
      if (held < config.dataset.minHiddenTokens) {
        return refuse(422, 'dataset_unjudgeable', `the held-out part of ${name} is ${held} tokens; a round needs at least ${config.dataset.minHiddenTokens} to judge on`);
      }
      this.heldOutChecked.set(name, checked);
    }
    return { ...target, docs: async (at) => (at === version ? docs : target.docs(at)) };
  }

  /** `account`'s work unit in the open round on `target` that still has room (else in the next expert slot's new round on it). */
  async unit(account: Address, target: RoundTarget = this.metaSplit): Promise<WorkUnit> {
    const { index, store, accounts } = this.d;
    const meta = await index.metaHead();
    if (meta === null) throw new Error('the relay holds no model');
    const version = await target.version(meta);
    const docs = await target.docs(version);
    const live = (r: RoundRow) => r.meta === meta && r.dataset_head === version && r.claimed_by === null;
    const held = await store.openUnit(account, target.dataset);
    const round = held === undefined ? undefined : await store.round(held.round);
    if (held !== undefined && live(round!)) return this.view(round!, held, docs, target);
    const shards = Math.ceil(docs.length / accounts.shardDocs);
    for (;;) {
      const room = (await store.withRoom(meta, target.dataset)).find(live) ?? (await this.openNext(meta, target, version));
      const unit = await store.issue(room.id, account, accounts.now(), (seat) => (room.id * room.seats + seat) % shards);
      if (unit !== undefined) return this.view(room, unit, docs, target);
    }
  }

  private async view(r: RoundRow, unit: DeltaRow, docs: readonly TrainDoc[], target: RoundTarget): Promise<WorkUnit> {
    const { shardDocs } = this.d.accounts;
    const replay = r.dataset === null ? null : unitReplay(this.d.config.dataset.replay, unit.id, await this.metaSplit.docs(null), shardDocs, (index) => this.metaSplit.shardUrl(index, null));
    return { round: r.id, meta: r.meta, dataset: r.dataset, slot: r.slot, base: r.base, steps: r.steps, shard: { ...shardBody(docs, unit.shard, shardDocs).shard, url: target.shardUrl(unit.shard, r.dataset_head) }, replay };
  }

  /** Opens the next round on `target`: on the meta block's splits every expert slot in turn, on a dataset its own experts in turn. */
  private async openNext(meta: Hash, target: RoundTarget, datasetHead: Hash | null): Promise<RoundRow> {
    const { index, evaluator, store, config, accounts } = this.d;
    const ctx = await evaluator.context(meta);
    const heads = await index.paramIndex((await index.versionOf(meta))!);
    const experts = target.dataset === null ? [...ctx.plan.values()].filter((s) => s.type === 'expert').map((s) => s.name) : await this.datasetExperts(ctx, heads, target, datasetHead);
    const slot = experts[(experts.indexOf((await store.lastSlot(meta, target.dataset)) ?? '') + 1) % experts.length]!;
    const { seed, commitment } = freshSample();
    return (await store.round(await store.open({ slot, meta, base: heads[slot]!, steps: config.steps, seats: config.contributors, seed, commitment, at: accounts.now(), dataset: target.dataset, datasetHead })))!;
  }

  /** The expert slots rounds on a dataset train (datasetSlots on the current heads), chosen once per meta block and dataset version. */
  private async datasetExperts(ctx: EvalContext, heads: Record<string, Hash>, target: RoundTarget, version: Hash | null): Promise<string[]> {
    const key = `${ctx.meta}:${version}`;
    const known = this.experts.get(target.dataset!);
    if (known?.key === key) return known.slots;
    const stream = evalStream(Tokenizer.fromJSON(ctx.payload.tokenizer), (await target.docs(version)).map((d) => d.text));
    const slots = datasetSlots(await this.d.evaluator.assemble(ctx, heads), ctx.payload.config, stream, this.d.config.dataset.experts, ROUTING_WINDOWS);
    this.experts.set(target.dataset!, { key, slots });
    return slots;
  }

  /** The genesis model under the context's meta block: every slot at the first block of its history. */
  private genesisModel(ctx: EvalContext): Promise<ParamMap> {
    let model = this.genesisModels.get(ctx.meta);
    if (model === undefined) {
      model = (async () => {
        const { index, evaluator } = this.d;
        const version = (await index.versionOf(ctx.meta))!;
        const heads: Record<string, Hash> = {};
        for (const slot of ctx.plan.keys()) heads[slot] = (await index.history(version, slot))[0]!.hash;
        return evaluator.assemble(ctx, heads);
      })();
      model.catch(() => this.genesisModels.delete(ctx.meta));
      this.genesisModels.set(ctx.meta, model);
    }
    return model;
  }

  /** Stores `account`'s delta in its work unit of `round` after the intake bounds; nothing is stored on a refusal. */
  async submit(account: Address, round: number, bytes: Uint8Array): Promise<{ ok: true; id: number } | Refusal> {
    const { store, index, objects, evaluator, accounts } = this.d;
    const r = await store.round(round);
    if (r === undefined) return refuse(422, 'unknown_round', `there is no round ${round}`);
    if (r.status !== 'open') return refuse(409, 'round_closed', `round ${round} is ${r.status}; ask for a new work unit`);
    const unit = await store.unit(round, account);
    if (unit === undefined) return refuse(403, 'no_work_unit', `${account} holds no work unit in round ${round}`);
    if (unit.status !== 'assigned') return refuse(409, 'already_submitted', `${account} already submitted a delta to round ${round}`);
    const slot = (await evaluator.context(r.meta)).plan.get(r.slot)!;
    const baseParams = slotParams(slot, await objects.read((await index.block(r.base))!.header.payload_hash));
    try {
      const delta = decodeDelta(bytes);
      applyDelta(baseParams, delta);
      const { entries } = compression(delta, bytes.length);
      const allowed = Object.values(baseParams).reduce((n, t) => n + Math.ceil(accounts.maxDensity * t.length), 0);
      if (entries > allowed) return refuse(422, 'too_dense', `the delta changes ${entries} entries of the expert; at most ${allowed} may change`);
      const norm = deltaNorm(delta);
      const bound = accounts.maxRelativeNorm * paramsNorm(baseParams);
      if (norm > bound) return refuse(422, 'over_norm', `‖Δ‖ = ${norm.toPrecision(4)} exceeds ${accounts.maxRelativeNorm} × ‖W‖ = ${bound.toPrecision(4)}`);
    } catch (e) {
      if (e instanceof DeltaError) return refuse(e.code === 'malformed_delta' ? 400 : 422, e.code, e.message);
      throw e;
    }
    // A claimed round takes no delta (RoundStore.fill): one filled after its judge read the deltas
    // would be neither judged nor credited, and could not be sent again.
    const filled = await store.fill(round, unit.id, bytes, payloadHash(bytes), accounts.now());
    if (filled === 'round_closed') return refuse(409, 'round_closed', `round ${round} is being judged; ask for a new work unit`);
    if (filled === 'already_submitted') return refuse(409, 'already_submitted', `${account} already submitted a delta to round ${round}`);
    return { ok: true, id: unit.id };
  }

  /** What this judge may claim now. */
  private claimant(): Claim {
    const { judge, accounts, config } = this.d;
    const now = accounts.now();
    return { by: judge.name, now, leaseMs: judge.leaseMs, openedBy: now - config.openMs };
  }

  /**
   * Judges the due rounds in this process (the embedded relay, on every unit request and delta):
   * queues one pass that claims and judges them one at a time, unless a pass is already waiting.
   * Finding none is one query.
   */
  closeDue(): void {
    if (this.passQueued) return;
    this.passQueued = true;
    void this.queue.run(async () => {
      this.passQueued = false;
      try {
        while ((await this.judgeNext()) !== undefined);
      } catch (e) {
        console.error(`rounds: ${(e as Error).message}; the round is taken again once its claim runs out`);
      }
    });
  }

  /** Claims the oldest due round and judges it to its end; undefined when none is due (a `blyan worker`'s turn at rounds). */
  async judgeNext(): Promise<RoundResult | undefined> {
    const id = await this.d.store.claim(this.claimant());
    return id === undefined ? undefined : this.track(id);
  }

  /**
   * Claims round `id` now, due or not, and judges it behind any round being judged here. From the
   * claim on, the round takes no delta and hands out no unit. Throws if another judge holds it.
   */
  async close(id: number): Promise<RoundResult> {
    const running = this.judging.get(id);
    if (running !== undefined) return running;
    if ((await this.d.store.claim(this.claimant(), id)) === undefined) throw new Error(`round ${id} is not open, or another judge holds it`);
    return this.queue.run(() => this.track(id));
  }

  private track(id: number): Promise<RoundResult> {
    const p = this.settle(id).finally(() => this.judging.delete(id));
    this.judging.set(id, p);
    return p;
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  /**
   * The embedded relay at start: every claim a previous run left ends now (its store lock proves no
   * other judge runs), and a pass judges what is due, finishing rounds left judging or appending.
   */
  async resume(): Promise<void> {
    await this.d.store.release();
    this.closeDue();
  }

  /** Takes a claimed round to its end: judged if open, appended and paid if appending, else as it was decided. */
  private async settle(id: number): Promise<RoundResult> {
    const r = (await this.d.store.round(id))!;
    if (r.status === 'open') return this.judge(r);
    if (r.status === 'appending') return this.append(r);
    return resultOf(r);
  }

  /** Stores the verdict unless another judge stored one first, then takes the round to its end by whichever verdict is stored. */
  private async decide(id: number, d: Decision): Promise<RoundResult> {
    await this.d.store.decide(id, d);
    return this.settle(id);
  }

  private reject(id: number, reason: string, outcomes: readonly DeltaOutcome[] = []): Promise<RoundResult> {
    return this.decide(id, { accepted: false, reason, at: this.d.accounts.now(), block: null, header: null, payload: null, verdict: null, improvement: null, lower: null, pool: null, genesis: null, uploaders: [], outcomes, momentum: null });
  }

  private async judge(r: RoundRow): Promise<RoundResult> {
    const { index, objects, evaluator, store, accounts, config } = this.d;
    const id = r.id;
    const signer = await namedEvaluator(index, this.d.verdictSigner, r.meta);
    if (signer === null) return this.reject(id, NO_EVALUATOR);
    const ctx = await evaluator.context(r.meta);
    const heads = await index.paramIndex((await index.versionOf(r.meta))!);
    if ((await index.metaHead()) !== r.meta || heads[r.slot] !== r.base) return this.reject(id, `stale_base: the head of ${r.slot} is now ${heads[r.slot]}`);
    const target = this.targetOf(r.dataset);
    const version = await target.version(r.meta);
    if (version !== r.dataset_head) return this.reject(id, `stale_dataset: the head of dataset ${r.dataset} is now ${version}; its shards changed`);
    const rows = await store.deltas(id);
    if (rows.length === 0) return this.reject(id, 'no_deltas: nobody submitted a delta');
    const slot = ctx.plan.get(r.slot)!;
    const params = await evaluator.assemble(ctx, heads);
    const baseHeader = (await index.block(r.base))!.header;
    const baseSlot = slotParams(slot, await objects.read(baseHeader.payload_hash));
    const dense = (bytes: Uint8Array) => applyDelta(Object.fromEntries(Object.entries(baseSlot).map(([n, t]) => [n, new Float32Array(t.length)])), decodeDelta(bytes));
    const tokenizer = Tokenizer.fromJSON(ctx.payload.tokenizer);
    const docs = await target.docs(version);
    const submissions: Submission[] = [];
    for (const row of rows) {
      const from = row.shard * accounts.shardDocs;
      const stream = evalStream(tokenizer, docs.slice(from, from + accounts.shardDocs).map((doc) => doc.text));
      const length = Math.min(ctx.length, stream.length - 2);
      const windows = roundWindows(ctx, drawWindows(scoreSeed(r.seed, row.id), stream.length, length, config.scoreWindows), length);
      const change = dense(row.delta!);
      const before = await windowLosses(ctx, params, stream, windows, length, accounts.eval.perBatch);
      const after = await windowLosses(ctx, { ...params, ...combine([baseSlot, change], [1, 1]) }, stream, windows, length, accounts.eval.perBatch);
      submissions.push({ id: String(row.id), author: row.account, hash: row.payload_hash!, change, before, after });
    }
    const earlier: Seen[] = (await store.recent(r.slot, id, config.history)).map((row) => ({ id: String(row.id), hash: row.payload_hash!, change: dense(row.delta!) }));
    const momentum = await store.momentum(r.slot, r.meta);
    const agg = aggregate(submissions, earlier, momentum === null ? null : { momentum }, { ...config.screen, ...config.outer });
    const outcome = (credits: ReadonlyMap<string, number>): DeltaOutcome[] =>
      agg.screened.map((s, i) => ({ id: rows[i]!.id, status: s.status, copyOf: s.status === 'copy' ? Number(s.copyOf) : null, before: mean(submissions[i]!.before), after: mean(submissions[i]!.after), credit: credits.get(s.id) ?? 0 }));
    if (agg.outer === null) return this.reject(id, 'all_dropped: no delta lowered the loss on its own shard', outcome(new Map()));
    const payload = encodeSlotPayload(slot, combine([baseSlot, agg.outer.step], [1, 1]), ctx.payload.quantization.experts);
    const judged = await target.judge(ctx, params, { ...params, ...slotParams(slot, payload) }, r.seed, version);
    const { test, genesis } = judged;
    const block = await buildBlock(
      { type: 'expert', index: baseHeader.index + 1, name: r.slot, depends_on: [r.meta, r.base], prev: r.base, payload, meta: { encoding: 'tensors-v1', round: id }, created_at: accounts.now() },
      signer,
    );
    const hash = blockHash(block.header);
    const verdict = await signVerdict(
      {
        v: 1,
        block: hash,
        slot: r.slot,
        base: r.base,
        meta: r.meta,
        accepted: judged.accepted,
        baseline: judged.baseline,
        candidate: judged.candidate,
        tokens: judged.tokens,
        sample: { seed: r.seed, commitment: sampleCommitment(r.seed) },
        evaluator: signer.address.toLowerCase() as Address,
        judged_at: accounts.now(),
      },
      signer,
    );
    const pool = Math.max(1, Math.round(test.mean * accounts.creditPerNat));
    const sources = await target.sources(version);
    const [contributorPool, uploaderPool] = sources.length === 0 ? [pool, 0] : splitCredit(pool, [1 - config.dataset.uploaderShare, config.dataset.uploaderShare]);
    const credits = new Map(roundCredit(agg.screened, contributorPool!).map((c) => [c.id, c.credit]));
    const uploaders: SourceCredit[] = splitCredit(uploaderPool!, sources.map((s) => s.weight))
      .map((credit, i) => ({ account: sources[i]!.account, credit }))
      .filter((u) => u.credit > 0);
    const on = r.dataset === null ? 'hidden' : `dataset ${r.dataset} held-out`;
    const figures = `${on} loss ${verdict.baseline.toFixed(5)} → ${verdict.candidate.toFixed(5)} nats/token, mean improvement ${test.mean.toFixed(5)}, ${test.confidence * 100} % lower bound ${test.lower.toFixed(5)} (margin ${test.margin})`;
    const kept =
      genesis === null
        ? ''
        : `; genesis hidden split against the genesis model: mean change ${genesis.test.mean.toFixed(5)} nats/token, ${genesis.test.confidence * 100} % lower bound ${genesis.test.lower.toFixed(5)} (may not fall below −${genesis.bound.toFixed(5)})`;
    const reason = judged.accepted ? null : test.accepted ? `genesis_worse: ${figures}${kept}` : `no_improvement: ${figures}${kept}`;
    return this.decide(id, {
      accepted: judged.accepted,
      reason,
      at: accounts.now(),
      block: hash,
      header: JSON.stringify(block.header),
      payload: test.accepted ? payload : null,
      verdict: JSON.stringify(verdict),
      improvement: test.mean,
      lower: test.lower,
      pool,
      genesis: genesis === null ? null : { change: genesis.test.mean, lower: genesis.test.lower, bound: genesis.bound },
      uploaders,
      outcomes: outcome(credits),
      momentum: { slot: r.slot, meta: r.meta, state: agg.outer.state.momentum },
    });
  }

  /** Appends an `appending` round's block with its verdict (if not yet in), then pays its credit once and marks it accepted. */
  private async append(r: RoundRow): Promise<RoundResult> {
    const { index, ledger, store, accounts } = this.d;
    const block: Block = { header: JSON.parse(r.header!), payload: new Uint8Array(r.payload!) };
    const verdict: SignedVerdict = parseVerdict(JSON.parse(r.verdict!));
    if ((await index.block(r.block!)) === undefined) {
      const res = await ledger.submit(block, verdict);
      if (!res.ok) {
        await store.refuse(r.id, `append_refused: ${res.code}: ${res.message}`, accounts.now());
        return { round: r.id, accepted: false, reason: `append_refused: ${res.code}`, block: r.block };
      }
    }
    const paid = (await store.deltas(r.id)).filter((d) => (d.credit ?? 0) > 0);
    const uploaders = roundUploaders(r);
    const amounts = new Map<string, number>();
    for (const p of [...paid.map((d) => ({ account: d.account, credit: d.credit! })), ...uploaders]) amounts.set(userAccount(p.account), (amounts.get(userAccount(p.account)) ?? 0) + p.credit);
    const on = r.dataset === null ? '' : ` for dataset ${r.dataset} (${uploaders.length} uploaders paid)`;
    await store.pay(
      r.id,
      {
        kind: 'round',
        ref: String(r.id),
        memo: `round ${r.id} on ${r.slot}${on}: ${paid.length} authors, mean improvement ${r.improvement!.toFixed(5)} nats/token (block ${r.block})`,
        postings: [{ account: REWARDS_ACCOUNT, amount: -r.pool! }, ...[...amounts].map(([account, amount]) => ({ account, amount }))],
      },
      accounts.now(),
    );
    return { round: r.id, accepted: true, reason: null, block: r.block };
  }
}

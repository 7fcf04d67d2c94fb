import { type Address, type Hash, type Signer, blockHash } from '@blyan/block';
import { type SignedVerdict, signVerdict } from '@blyan/chain';
import { decodeDelta, expertCandidate } from '@blyan/delta';
import type { Ledger } from '../ledger.ts';
import { REWARDS_ACCOUNT, userAccount } from '../rewards/journal.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { AccountsConfig } from './config.ts';
import type { EvalContext, HiddenEvaluator, Judgement } from './hidden-eval.ts';
import { NO_EVALUATOR, namedEvaluator } from './judging.ts';
import type { ContributionStore, Figures, Pending } from './store.ts';

export interface WorkerDeps {
  readonly index: IndexStore;
  readonly objects: ObjectStore;
  readonly ledger: Ledger;
  /** Signs the verdict that lets an accepted block in; null when this relay holds no evaluator key. */
  readonly verdictSigner: Signer | null;
  readonly evaluator: HiddenEvaluator;
  readonly store: ContributionStore;
  readonly config: AccountsConfig;
}

/**
 * Proof of learning, off the request path: one contribution at a time, in arrival order. A queued
 * contribution is judged against the slot's current head on the windows its seed draws, and the
 * verdict (accepted or not, revealing the seed) is signed with the evaluator key the meta block
 * names. An improvement of at least δ stores figures and verdict (`appending`), appends the block
 * with its verdict through the Ledger (chain rules, delegation check), and then marks it accepted
 * and posts its credit in one transaction; anything else is rejected with its verdict. A failure once the figures are stored leaves the row `appending`: the next start
 * resumes it, appending the block if it is not yet in and posting the credit exactly once. Two
 * workers that judged the same contribution (a lease that ran out) append with the verdict stored
 * first, so the chain and the contribution name one verdict.
 */
export class EvaluationWorker {
  private readonly queue = new SerialQueue();

  constructor(private readonly d: WorkerDeps) {}

  /** Judges `id` after every contribution enqueued before it (the embedded relay's in-process queue). */
  enqueue(id: number): void {
    void this.queue.run(() => this.judge(id));
  }

  /** Queues every contribution a previous run left unfinished. */
  async resume(): Promise<void> {
    for (const id of await this.d.store.pendingIds()) this.enqueue(id);
  }

  /**
   * Judges one contribution to its end. A failure before the figures are stored rejects it as
   * evaluation_failed (its author may submit it again); one after leaves it `appending`, to be
   * finished by the next start or the next worker to claim it.
   */
  async judge(id: number): Promise<void> {
    try {
      await this.process(id);
    } catch (e) {
      const message = (e as Error).message;
      if ((await this.d.store.pending(id))?.status === 'appending') return console.error(`contribution ${id}: ${message}; it is finished on the next start`);
      console.error(`contribution ${id}: ${message}`);
      await this.d.store.reject(id, 'evaluation_failed', message, this.d.config.now());
    }
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async process(id: number): Promise<void> {
    const p = await this.d.store.pending(id);
    if (p === undefined) return;
    if (p.judged !== null) return this.append(p, p.judged.figures, p.judged.verdict);
    const { index, evaluator, store, config } = this.d;
    const now = config.now;
    const signer = await namedEvaluator(index, this.d.verdictSigner, p.meta);
    if (signer === null) return store.reject(id, 'evaluation_failed', NO_EVALUATOR, now());
    let ctx: EvalContext;
    try {
      ctx = await evaluator.context(p.meta);
    } catch (e) {
      return store.reject(id, 'evaluation_failed', (e as Error).message, now());
    }
    const version = (await index.versionOf(p.meta))!;
    const heads = await index.paramIndex(version);
    const head = heads[p.header.name] ?? null;
    if ((await index.metaHead()) !== p.meta || head !== p.header.prev) {
      return store.reject(id, 'stale_base', `the head of ${p.header.name} is now ${head}; rebase on it`, now());
    }
    const candidate = await this.candidate(ctx, p);
    const j = await evaluator.judge(ctx, heads, p.header.name, candidate, p.sample.seed);
    const f: Figures = { baseline: j.baseline, candidate: j.candidate, improvement: j.baseline - j.candidate, tokens: j.tokens, ms: j.ms };
    const accepted = f.improvement >= config.minImprovement;
    const verdict = await this.verdict(p, j, accepted, signer);
    if (!accepted) {
      return store.reject(id, 'no_improvement', `hidden loss ${f.baseline.toFixed(5)} → ${f.candidate.toFixed(5)} nats/token; δ is ${config.minImprovement}`, now(), f, verdict);
    }
    await store.markAppending(id, f, verdict);
    const stored = (await store.pending(id))?.judged;
    if (stored == null) return;
    return this.append(p, stored.figures, stored.verdict, candidate);
  }

  private async candidate(ctx: EvalContext, p: Pending): Promise<Uint8Array> {
    const base = (await this.d.index.block(p.header.prev))!;
    const slot = ctx.plan.get(p.header.name)!;
    return expertCandidate(slot, await this.d.objects.read(base.header.payload_hash), decodeDelta(p.delta), ctx.payload.quantization.experts);
  }

  /** The verdict on `p`'s block, revealing its sample seed, signed with the evaluator key. */
  private verdict(p: Pending, j: Judgement, accepted: boolean, signer: Signer): Promise<SignedVerdict> {
    return signVerdict(
      {
        v: 1,
        block: blockHash(p.header),
        slot: p.header.name,
        base: p.header.prev,
        meta: p.meta,
        accepted,
        baseline: j.baseline,
        candidate: j.candidate,
        tokens: j.tokens,
        sample: p.sample,
        evaluator: signer.address.toLowerCase() as Address,
        judged_at: this.d.config.now(),
      },
      signer,
    );
  }

  /**
   * Appends the block with its verdict (`payload` is the candidate evaluation built; a resumed
   * append rebuilds it) and posts the credit.
   */
  private async append(p: Pending, f: Figures, verdict: SignedVerdict, payload?: Uint8Array): Promise<void> {
    const { index, ledger, store, config } = this.d;
    const hash: Hash = blockHash(p.header);
    if ((await index.block(hash)) === undefined) {
      const block = { header: p.header, payload: payload ?? (await this.candidate(await this.d.evaluator.context(p.meta), p)) };
      const r = await ledger.submit(block, verdict);
      if (!r.ok) return store.reject(p.id, 'append_refused', `${r.code}: ${r.message}`, config.now(), f);
    }
    const credit = Math.max(1, Math.round(f.improvement * config.creditPerNat));
    await store.accept(
      p.id,
      {
        amount: credit,
        entry: {
          kind: 'contribution',
          ref: String(p.id),
          memo: `${p.header.name} ${f.baseline.toFixed(5)} → ${f.candidate.toFixed(5)} nats/token (block ${hash})`,
          postings: [
            { account: REWARDS_ACCOUNT, amount: -credit },
            { account: userAccount(p.account), amount: credit },
          ],
        },
      },
      config.now(),
    );
  }
}

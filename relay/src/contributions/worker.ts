import { randomBytes } from 'node:crypto';
import { type Address, type Hash, type Signer, blockHash, toHash } from '@blyan/block';
import { type SignedVerdict, sampleCommitment, signVerdict } from '@blyan/chain';
import { decodeDelta, expertCandidate } from '@blyan/delta';
import type Database from 'better-sqlite3';
import type { Ledger } from '../ledger.ts';
import { REWARDS_ACCOUNT, type Journal, userAccount } from '../rewards/journal.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { AccountsConfig } from './config.ts';
import type { EvalContext, HiddenEvaluator } from './hidden-eval.ts';
import type { ContributionStore, Figures, Pending } from './store.ts';

export interface WorkerDeps {
  readonly db: Database.Database;
  readonly index: IndexStore;
  readonly objects: ObjectStore;
  readonly ledger: Ledger;
  /** Signs the verdict that lets an accepted block in; null when this relay holds no evaluator key. */
  readonly verdictSigner: Signer | null;
  readonly evaluator: HiddenEvaluator;
  readonly store: ContributionStore;
  readonly journal: Journal;
  readonly config: AccountsConfig;
}

/**
 * Proof of learning, off the request path: one contribution at a time, in arrival order. A queued
 * contribution is judged against the slot's current head; an improvement of at least δ stores the
 * figures (`appending`), appends the block through the Ledger (chain rules, delegation check), and
 * then marks it accepted and posts its credit in one transaction. A restart resumes `queued` and
 * `appending` rows, so a crash between the append and the credit is finished, not lost.
 */
export class EvaluationWorker {
  private readonly queue = new SerialQueue();

  constructor(private readonly d: WorkerDeps) {}

  enqueue(id: number): void {
    this.queue.run(() => this.process(id)).catch((e: unknown) => {
      console.error(`contribution ${id}: ${(e as Error).message}`);
      this.d.store.reject(id, 'evaluation_failed', (e as Error).message, this.d.config.now());
    });
  }

  /** Queues every contribution a previous run left unfinished. */
  resume(): void {
    for (const id of this.d.store.pendingIds()) this.enqueue(id);
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async process(id: number): Promise<void> {
    const p = this.d.store.pending(id);
    if (p === undefined) return;
    if (p.status === 'appending' && p.figures !== null) return this.append(p, p.figures);
    const { index, evaluator, store, config } = this.d;
    const now = config.now;
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
    const j = await evaluator.judge(ctx, heads, p.header.name, candidate);
    const f: Figures = { baseline: j.baseline, candidate: j.candidate, improvement: j.baseline - j.candidate, tokens: j.tokens, ms: j.ms };
    if (!(f.improvement >= config.minImprovement)) {
      return store.reject(id, 'no_improvement', `hidden loss ${f.baseline.toFixed(5)} → ${f.candidate.toFixed(5)} nats/token; δ is ${config.minImprovement}`, now(), f);
    }
    store.markAppending(id, f);
    return this.append(p, f, candidate);
  }

  private async candidate(ctx: EvalContext, p: Pending): Promise<Uint8Array> {
    const base = (await this.d.index.block(p.header.prev))!;
    const slot = ctx.plan.get(p.header.name)!;
    return expertCandidate(slot, await this.d.objects.read(base.header.payload_hash), decodeDelta(p.delta), ctx.payload.quantization.experts);
  }

  /** The accepted verdict for `p`'s block with figures `f`, signed with the evaluator key. */
  private async verdict(p: Pending, f: Figures, signer: Signer): Promise<SignedVerdict> {
    const seed = toHash(randomBytes(32));
    return signVerdict(
      {
        v: 1,
        block: blockHash(p.header),
        slot: p.header.name,
        base: p.header.prev,
        meta: p.meta,
        accepted: true,
        baseline: f.baseline,
        candidate: f.candidate,
        tokens: f.tokens,
        sample: { commitment: sampleCommitment(seed), seed },
        evaluator: signer.address.toLowerCase() as Address,
        judged_at: this.d.config.now(),
      },
      signer,
    );
  }

  /** Appends the block (`payload` is the candidate evaluation built; a resumed append rebuilds it) and posts the credit. */
  private async append(p: Pending, f: Figures, payload?: Uint8Array): Promise<void> {
    const { index, ledger, store, journal, db, config } = this.d;
    const hash: Hash = blockHash(p.header);
    if ((await index.block(hash)) === undefined) {
      const signer = this.d.verdictSigner;
      if (signer === null) return store.reject(p.id, 'append_refused', 'this relay holds no evaluator key to sign the verdict', config.now(), f);
      const block = { header: p.header, payload: payload ?? (await this.candidate(await this.d.evaluator.context(p.meta), p)) };
      const r = await ledger.submit(block, await this.verdict(p, f, signer));
      if (!r.ok) return store.reject(p.id, 'append_refused', `${r.code}: ${r.message}`, config.now(), f);
    }
    const credit = Math.max(1, Math.round(f.improvement * config.creditPerNat));
    db.transaction(() => {
      store.markAccepted(p.id, credit, config.now());
      journal.post({
        kind: 'contribution',
        ref: String(p.id),
        memo: `${p.header.name} ${f.baseline.toFixed(5)} → ${f.candidate.toFixed(5)} nats/token (block ${hash})`,
        postings: [
          { account: REWARDS_ACCOUNT, amount: -credit },
          { account: userAccount(p.account), amount: credit },
        ],
      });
    })();
  }
}

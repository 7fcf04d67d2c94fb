import { type Block, type Hash, blockHash, verifyPayload } from '@blyan/block';
import { type Rejection, type RuleOptions, type SignedVerdict, validateBlock } from '@blyan/chain';
import { joinLeaves } from './leaves.ts';
import { type IndexStore, StaleHeadError } from './store/index-store.ts';
import type { ObjectStore } from './store/object-store.ts';
import { SerialQueue } from './store/serial-queue.ts';

export type Submission = { ok: true; created: boolean; hash: Hash; seq: number } | Rejection;

/**
 * The one way blocks get in. Submissions run one at a time, so the heads a block was validated
 * against are still the heads when it is appended. A block is stored payload first (durable file),
 * then index row (durable commit): it becomes visible only when the row commits, and a crash in
 * between leaves an unreferenced file that the next start removes. A rejected block writes nothing.
 * A block moves a head only if an authority of its meta block signed it, or with an accepted
 * `verdict` from one of its evaluators (the evaluation worker's path); the verdict is stored with it.
 * Replicas sharing one index serialize nothing between them: when another one moved the head
 * between validation and append (StaleHeadError), the block is judged once more against the new
 * heads, which answers it as stored (the same block) or as stale_prev.
 */
export class Ledger {
  private readonly queue = new SerialQueue();

  constructor(
    private readonly objects: ObjectStore,
    private readonly index: IndexStore,
    private readonly rules: RuleOptions,
  ) {}

  submit(block: Block, verdict?: SignedVerdict): Promise<Submission> {
    return this.queue.run(() => this.accept(block, verdict).catch((e) => (e instanceof StaleHeadError ? this.accept(block, verdict) : Promise.reject(e))));
  }

  /** Resolves once every submission made so far has finished. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async accept(block: Block, verdict?: SignedVerdict): Promise<Submission> {
    const { header, payload } = block;
    const hash = blockHash(header);
    const stored = await this.index.block(hash);
    if (stored && stored.header.sig === header.sig && verifyPayload(header, payload).ok) {
      return { ok: true, created: false, hash, seq: stored.seq };
    }
    const accepted = await validateBlock(await this.index.view(header), block, this.rules, verdict);
    if (!accepted.ok) return accepted;
    await this.objects.put(header.payload_hash, payload);
    const seq = await this.index.append(accepted, joinLeaves(accepted.leaves));
    return { ok: true, created: true, hash, seq };
  }
}

import { type Block, type Hash, blockHash, verifyPayload } from '@blyan/block';
import { type Rejection, type RuleOptions, validateBlock } from '@blyan/chain';
import { joinLeaves } from './leaves.ts';
import type { IndexStore } from './store/index-store.ts';
import type { ObjectStore } from './store/object-store.ts';
import { SerialQueue } from './store/serial-queue.ts';

export type Submission = { ok: true; created: boolean; hash: Hash; seq: number } | Rejection;

/**
 * The one way blocks get in. Submissions run one at a time, so the heads a block was validated
 * against are still the heads when it is appended. A block is stored payload first (durable file),
 * then index row (durable commit): it becomes visible only when the row commits, and a crash in
 * between leaves an unreferenced file that the next start removes. A rejected block writes nothing.
 */
export class Ledger {
  private readonly queue = new SerialQueue();

  constructor(
    private readonly objects: ObjectStore,
    private readonly index: IndexStore,
    private readonly rules: RuleOptions,
  ) {}

  submit(block: Block): Promise<Submission> {
    return this.queue.run(() => this.accept(block));
  }

  /** Resolves once every submission made so far has finished. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async accept(block: Block): Promise<Submission> {
    const { header, payload } = block;
    const hash = blockHash(header);
    const stored = await this.index.block(hash);
    if (stored && stored.header.sig === header.sig && verifyPayload(header, payload).ok) {
      return { ok: true, created: false, hash, seq: stored.seq };
    }
    const verdict = await validateBlock(await this.index.view(header), block, this.rules);
    if (!verdict.ok) return verdict;
    await this.objects.put(header.payload_hash, payload);
    const seq = await this.index.append(verdict, joinLeaves(verdict.leaves));
    return { ok: true, created: true, hash, seq };
  }
}

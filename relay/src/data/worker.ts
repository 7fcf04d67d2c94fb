import { randomInt } from 'node:crypto';
import type { Signer } from '@blyan/block';
import { MAX_BLOCK_TEXT, tierOf } from '@blyan/data';
import { NO_EVALUATOR, namedEvaluator } from '../contributions/judging.ts';
import type { Ledger } from '../ledger.ts';
import type { IndexStore } from '../store/index-store.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { appendUpload } from './append.ts';
import type { DataConfig } from './config.ts';
import type { DocScorer } from './scoring.ts';
import type { DataStore } from './store.ts';

export interface DataWorkerDeps {
  readonly index: IndexStore;
  readonly ledger: Ledger;
  readonly store: DataStore;
  readonly scorer: DocScorer;
  readonly verdictSigner: Signer | null;
  readonly config: DataConfig;
  readonly now: () => number;
}

/** `n` distinct items of `xs` drawn uniformly (partial Fisher–Yates with a CSPRNG, so an uploader cannot predict the sample). */
function draw<T>(xs: readonly T[], n: number): T[] {
  const a = [...xs];
  for (let i = 0; i < Math.min(n, a.length); i++) {
    const j = i + randomInt(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

/**
 * The data hub's work off the request path, one upload at a time: L1 scores a `scoring` upload
 * (bits per byte under the current model, overlap with the hub's other documents, tier) and draws
 * its review sample; an upload that passed review (`appending`) goes onto chain D. A failure marks
 * the upload failed with its reason; an upload left mid-way by a stop is taken up on the next start.
 */
export class DataWorker {
  private readonly queue = new SerialQueue();

  constructor(private readonly d: DataWorkerDeps) {}

  enqueue(id: number): void {
    this.queue.run(() => this.process(id)).catch((e: unknown) => {
      console.error(`upload ${id}: ${(e as Error).message}`);
      this.d.store.setStatus(id, 'failed', (e as Error).message, this.d.now());
    });
  }

  resume(): void {
    for (const id of this.d.store.pendingIds()) this.enqueue(id);
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async process(id: number): Promise<void> {
    const u = this.d.store.get(id);
    if (u?.status === 'scoring') return this.score(id);
    if (u?.status !== 'appending') return;
    const signer = await this.signer();
    const blocks = await appendUpload({ ...this.d, signer }, u, u.created_at, MAX_BLOCK_TEXT);
    this.d.store.setBlocks(id, blocks);
    this.d.store.setStatus(id, 'accepted', u.detail, this.d.now());
  }

  private async signer(): Promise<Signer> {
    const signer = await namedEvaluator(this.d.index, this.d.verdictSigner, await this.d.index.metaHead());
    if (signer === null) throw new Error(NO_EVALUATOR);
    return signer;
  }

  private async score(id: number): Promise<void> {
    const { store, config } = this.d;
    await this.signer();
    const meta = (await this.d.index.metaHead())!;
    const docs = store.docs(id);
    const scores = await this.d.scorer.score(meta, docs.map((x) => store.text(x.sha256)));
    const near = store.nearIndex(id);
    const filed = docs.map((x, i) => {
      const overlap = near.nearest(store.signature(x.sha256))?.similarity ?? 0;
      const { bpb } = scores[i]!;
      return { position: x.position, bpb, overlap, tier: tierOf(bpb, overlap, config.tiers) };
    });
    const sample = draw(docs.filter((x) => !x.hidden).map((x) => x.position), config.sampleSize);
    store.fileScores(id, filed, sample);
    if (sample.length > 0) return;
    store.setStatus(id, 'appending', null, null);
    return this.process(id);
  }
}

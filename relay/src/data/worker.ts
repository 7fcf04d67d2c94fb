import { randomInt } from 'node:crypto';
import type { Signer } from '@blyan/block';
import { MAX_BLOCK_TEXT, MemoryNearIndex, bandKeys, tierOf } from '@blyan/data';
import { NO_EVALUATOR, namedEvaluator } from '../contributions/judging.ts';
import type { Ledger } from '../ledger.ts';
import type { IndexStore } from '../store/index-store.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { appendUpload } from './append.ts';
import type { DataConfig } from './config.ts';
import type { DocScorer } from './scoring.ts';
import type { DataHubStore } from './store.ts';

export interface DataWorkerDeps {
  readonly index: IndexStore;
  readonly ledger: Ledger;
  readonly store: DataHubStore;
  readonly scorer: DocScorer;
  readonly verdictSigner: Signer | null;
  readonly config: DataConfig;
  readonly now: () => number;
  /** This process's name in the upload queue (who holds a claim). */
  readonly name: string;
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
 * its review sample; an upload that passed review (`appending`) goes onto chain D. Only a process
 * holding the evaluator key the meta head names takes an upload, and only after claiming it in the
 * store (DataHubStore.claim, leased), so among replicas and `blyan worker` processes exactly one
 * works on it; a failure marks the upload failed with its reason, and one left mid-way by a stop
 * or a crash is taken up again (on the next start, or by any process once its lease runs out).
 */
export class DataWorker {
  private readonly queue = new SerialQueue();

  constructor(private readonly d: DataWorkerDeps) {}

  /** Takes upload `id` once the uploads queued before it here are done. */
  enqueue(id: number): void {
    this.queue.run(() => this.take(id)).catch((e: unknown) => console.error(`upload ${id}: ${(e as Error).message}`));
  }

  /** Takes every upload left waiting. */
  async resume(): Promise<void> {
    for (const id of await this.d.store.pendingIds()) this.enqueue(id);
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }

  /**
   * Claims upload `id` (or the oldest waiting one) if this process may sign for the meta head and
   * no other process holds it, works it to its next resting state, and gives it back; returns the
   * upload taken, undefined when none was.
   */
  async take(id?: number): Promise<number | undefined> {
    const { store, config, now, name } = this.d;
    if ((await this.signer()) === null) return undefined;
    const taken = await store.claim(id, name, config.leaseMs, now());
    if (taken === undefined) return undefined;
    try {
      await this.process(taken);
    } catch (e) {
      console.error(`upload ${taken}: ${(e as Error).message}`);
      await store.setStatus(taken, 'failed', (e as Error).message, now());
    } finally {
      await store.release(taken, name);
    }
    return taken;
  }

  private async process(id: number): Promise<void> {
    const u = await this.d.store.get(id);
    if (u?.status === 'scoring') return this.score(id);
    if (u?.status !== 'appending') return;
    const signer = await this.signer();
    if (signer === null) throw new Error(NO_EVALUATOR);
    const blocks = await appendUpload({ ...this.d, signer }, u, u.created_at, MAX_BLOCK_TEXT);
    await this.d.store.setBlocks(id, blocks);
    await this.d.store.setStatus(id, 'accepted', u.detail, this.d.now());
  }

  private async signer(): Promise<Signer | null> {
    return namedEvaluator(this.d.index, this.d.verdictSigner, await this.d.index.metaHead());
  }

  private async score(id: number): Promise<void> {
    const { store, config } = this.d;
    const meta = (await this.d.index.metaHead())!;
    const docs = await store.docs(id);
    const texts = await store.texts(docs.map((x) => x.sha256));
    const scores = await this.d.scorer.score(meta, docs.map((x) => texts.get(x.sha256)!));
    const sigs = await store.signatures(id);
    const near = new MemoryNearIndex();
    for (const n of await store.neighbours([...new Set([...sigs.values()].flatMap((sig) => bandKeys(sig)))], id)) near.add(n.sha256, n.signature);
    const filed = docs.map((x, i) => {
      const overlap = near.nearest(sigs.get(x.sha256)!)?.similarity ?? 0;
      const { bpb } = scores[i]!;
      return { position: x.position, bpb, overlap, tier: tierOf(bpb, overlap, config.tiers) };
    });
    const sample = draw(docs.filter((x) => !x.hidden).map((x) => x.position), config.sampleSize);
    if (!(await store.fileScores(id, filed, sample)) || sample.length > 0) return;
    await store.setStatus(id, 'appending', null, null);
    return this.process(id);
  }
}

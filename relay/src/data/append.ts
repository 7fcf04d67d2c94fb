import { type Address, type Block, type Hash, type Signer, blockHash, buildBlock } from '@blyan/block';
import { type SignedVerdict, signVerdict } from '@blyan/chain';
import { type DatasetDoc, datasetMeta, encodeDatasetPayload, packParts } from '@blyan/data';
import { freshSample } from '../contributions/sample.ts';
import type { Ledger } from '../ledger.ts';
import type { IndexStore } from '../store/index-store.ts';
import { hiddenCommitment } from './hidden.ts';
import type { DataHubStore, Upload, UploadDoc } from './store.ts';

const TILE = 64 * 1024;

type Filed = UploadDoc & { tier: NonNullable<UploadDoc['tier']>; bpb: number; overlap: number };

/** The upload's documents (less those reviewers dropped) cut into parts (hidden ones kept in the part they fall in, out of its payload). */
function parts(texts: ReadonlyMap<Hash, string>, docs: readonly UploadDoc[], maxText: number): { pub: (DatasetDoc & { bytes: number })[]; hidden: Hash[] }[] {
  return packParts(docs as Filed[], maxText).map((part) => ({
    pub: part.filter((d) => !d.hidden).map((d) => ({ sha256: d.sha256, tier: d.tier, bpb: d.bpb, overlap: d.overlap, text: texts.get(d.sha256)!, bytes: d.bytes })),
    hidden: part.filter((d) => d.hidden).map((d) => d.sha256),
  }));
}

/** The verdict that lets a dataset block in: the relay's evaluator attests the block it filtered, on the dataset's head (or, first, the meta block). */
function datasetVerdict(block: Block, meta: Hash, docs: readonly DatasetDoc[], signer: Signer, now: number): Promise<SignedVerdict> {
  const bpb = docs.length === 0 ? 0 : docs.reduce((s, d) => s + d.bpb, 0) / docs.length;
  return signVerdict(
    {
      v: 1,
      block: blockHash(block.header),
      slot: block.header.name,
      base: block.header.prev ?? meta,
      meta,
      accepted: true,
      baseline: bpb,
      candidate: bpb,
      tokens: 0,
      sample: freshSample(),
      evaluator: signer.address.toLowerCase() as Address,
      judged_at: now,
    },
    signer,
  );
}

/**
 * Appends an upload that passed review to chain D as the next blocks of its dataset's slot: one
 * block per part of at most `maxText` bytes of text, authored and signed by the relay's evaluator
 * key, each with its verdict, through the Ledger (the chain's own rules decide). A resumed append
 * finds the parts already on the slot by their header's `upload` and goes on after them. Returns
 * the block hashes.
 */
export async function appendUpload(d: { index: IndexStore; ledger: Ledger; store: DataHubStore; signer: Signer }, u: Upload, at: number, maxText: number): Promise<Hash[]> {
  const meta = await d.index.metaHead();
  if (meta === null) throw new Error('the meta chain has no blocks');
  const version = (await d.index.versionOf(meta))!;
  const kept = (await d.store.docs(u.id)).filter((x) => x.settled !== 'drop');
  const texts = await d.store.texts(kept.filter((x) => !x.hidden).map((x) => x.sha256));
  const cut = parts(texts, kept, maxText).filter((p) => p.pub.length > 0 || p.hidden.length > 0);
  const done: Hash[] = [];
  let prev: Hash | null = null;
  for (const e of await d.index.history(version, `D/${u.name}`)) {
    prev = e.hash;
    if ((await d.index.block(e.hash))?.header.meta.upload === u.id) done.push(e.hash);
  }
  for (const [i, p] of cut.entries()) {
    if (i < done.length) continue;
    const payload = encodeDatasetPayload({ v: 1, docs: p.pub });
    const hidden = { count: p.hidden.length, commitment: hiddenCommitment(p.hidden) };
    const block = await buildBlock(
      {
        type: 'dataset',
        index: prev === null ? 0 : (await d.index.block(prev))!.header.index + 1,
        name: u.name,
        depends_on: prev === null ? [meta] : [meta, prev],
        prev,
        payload,
        tile_size: TILE,
        meta: datasetMeta({ id: u.id, uploader: u.account, source: u.source, licence: u.licence }, i, cut.length, p.pub, hidden),
        created_at: at,
      },
      d.signer,
    );
    const r = await d.ledger.submit(block, await datasetVerdict(block, meta, p.pub, d.signer, at));
    if (!r.ok) throw new Error(`chain D refused part ${i} of upload ${u.id}: ${r.code}: ${r.message}`);
    prev = r.hash;
    done.push(r.hash);
  }
  return done;
}

import type { Hash } from '@blyan/block';
import { type DatasetSummary, type UploadView, countTiers } from '@blyan/data';
import type { IndexStore } from '../store/index-store.ts';
import type { DataHubStore, Upload } from './store.ts';

export async function uploadView(store: DataHubStore, index: IndexStore, u: Upload): Promise<UploadView> {
  const docs = await store.docs(u.id);
  const pub = docs.filter((d) => !d.hidden);
  const held = new Set(docs.filter((d) => d.hidden).map((d) => d.sha256));
  const sample = docs.filter((d) => d.sampled);
  const scored = pub.filter((d) => d.bpb !== null);
  const blocks = await Promise.all(u.blocks.map(async (hash) => ({ hash, payload_bytes: (await index.block(hash))?.header.payload_size ?? 0 })));
  return {
    id: u.id,
    name: u.name,
    uploader: u.account,
    source: u.source,
    licence: u.licence,
    status: u.status,
    detail: u.detail,
    raw_bytes: u.raw_bytes,
    verdicts: u.verdicts.map((v) => (v.ok && held.has(v.sha256) ? { ...v, sha256: 'held-out' as Hash } : v)),
    documents: docs.length,
    hidden: docs.length - pub.length,
    text_bytes: pub.reduce((n, d) => n + d.bytes, 0),
    tiers: countTiers(pub.flatMap((d) => (d.tier === null ? [] : [d.tier]))),
    mean_bpb: scored.length === 0 ? null : scored.reduce((s, d) => s + d.bpb!, 0) / scored.length,
    sample: { size: sample.length, keep: sample.filter((d) => d.settled === 'keep').length, drop: sample.filter((d) => d.settled === 'drop').length, votes: await store.votesOf(u.id) },
    blocks,
    created_at: u.created_at,
    decided_at: u.decided_at,
  };
}

export function summarize(name: string, head: Hash | null, uploads: readonly UploadView[]): DatasetSummary {
  const accepted = uploads.filter((u) => u.status === 'accepted');
  const tiers = countTiers([]);
  for (const u of accepted) for (const t of ['gold', 'silver', 'experimental'] as const) tiers[t] += u.tiers[t];
  return {
    name,
    head,
    versions: accepted.length,
    blocks: accepted.reduce((n, u) => n + u.blocks.length, 0),
    documents: accepted.reduce((n, u) => n + u.documents - u.hidden, 0),
    text_bytes: accepted.reduce((n, u) => n + u.text_bytes, 0),
    payload_bytes: accepted.reduce((n, u) => n + u.blocks.reduce((m, b) => m + b.payload_bytes, 0), 0),
    tiers,
    uploaders: [...new Set(uploads.map((u) => u.uploader))],
    pending: uploads.filter((u) => u.status === 'scoring' || u.status === 'review' || u.status === 'appending').length,
    votes: uploads.reduce((n, u) => n + u.sample.votes, 0),
  };
}

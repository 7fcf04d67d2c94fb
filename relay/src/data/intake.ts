import type { Address, Hash } from '@blyan/block';
import { type Known, MemoryNearIndex, type NearIndex, type StoredVerdict, bandKeys, prefilterYielding, splitDocuments, storedVerdict } from '@blyan/data';
import type { DataConfig } from './config.ts';
import { isHidden } from './hidden.ts';
import type { DataHubStore, NewDoc } from './store.ts';

/** What the uploader says about an upload (query parameters of the upload route). */
export interface UploadInfo {
  readonly name: string;
  readonly source: string;
  readonly licence: string;
}

export type Intake =
  | { readonly ok: true; readonly verdicts: StoredVerdict[]; readonly docs: NewDoc[] }
  | { readonly ok: false; readonly verdicts: StoredVerdict[] };

/**
 * What the hub holds near an upload, read from the store before L0 runs (L0's lookups are
 * synchronous): the documents it holds among `hashes` and its documents sharing any of `bands`.
 * A lookup outside what was read is noted in `missing`, so the caller reads it and runs L0 again.
 */
class KnownSnapshot implements Known {
  readonly near: NearIndex;
  readonly missing = { hashes: new Set<Hash>(), bands: new Set<string>() };

  constructor(
    private readonly read: { hashes: Set<Hash>; bands: Set<string> },
    private readonly heldHashes: Set<Hash>,
    index: MemoryNearIndex,
  ) {
    this.near = {
      nearest: (sig) => {
        for (const b of bandKeys(sig)) if (!this.read.bands.has(b)) this.missing.bands.add(b);
        return index.nearest(sig);
      },
    };
  }

  has(sha256: Hash): boolean {
    if (!this.read.hashes.has(sha256)) this.missing.hashes.add(sha256);
    return this.heldHashes.has(sha256);
  }
}

/**
 * L0 on an upload's bytes, the rule that counts (the page runs the same code for instant
 * feedback): cut at separator lines, each document checked against what the hub already holds
 * and against the upload's earlier documents; each kept one gets its held-out flag from the
 * keyed hash. L0 looks the hub up synchronously: accounts.sqlite answers at once (liveKnown);
 * on PostgreSQL it runs against a snapshot of the rows it asks about: a first pass finds which
 * those are, the store is read for them, and L0 runs again until it asked for nothing unread
 * (twice, unless an earlier refusal changed what a later document is compared with). Hands the event loop back every few milliseconds
 * (prefilterYielding); run it with storeUpload inside the store's `serially`, so no other
 * upload's documents are stored between the check and the store. Writes nothing.
 */
export async function checkUpload(store: DataHubStore, secret: Uint8Array, config: DataConfig, body: Uint8Array): Promise<Intake> {
  const docs = splitDocuments(body);
  const live = store.liveKnown();
  if (live !== null) return intake(await prefilterYielding(docs, live, config.limits), secret, config);
  const read = { hashes: new Set<Hash>(), bands: new Set<string>() };
  const held = new Set<Hash>();
  const near = new MemoryNearIndex();
  for (;;) {
    const known = new KnownSnapshot(read, held, near);
    const verdicts = await prefilterYielding(docs, known, config.limits);
    if (known.missing.hashes.size === 0 && known.missing.bands.size === 0) return intake(verdicts, secret, config);
    for (const h of await store.held([...known.missing.hashes])) held.add(h);
    for (const n of await store.neighbours([...known.missing.bands], 0)) near.add(n.sha256, n.signature);
    for (const h of known.missing.hashes) read.hashes.add(h);
    for (const b of known.missing.bands) read.bands.add(b);
  }
}

function intake(verdicts: Awaited<ReturnType<typeof prefilterYielding>>, secret: Uint8Array, config: DataConfig): Intake {
  const docs: NewDoc[] = verdicts.flatMap((v) =>
    v.ok ? [{ sha256: v.sha256, text: v.text, bytes: v.bytes, signature: v.signature, hidden: isHidden(secret, v.sha256, config.hiddenFraction) }] : [],
  );
  const out = verdicts.map(storedVerdict);
  return docs.length === 0 ? { ok: false, verdicts: out } : { ok: true, verdicts: out, docs };
}

export function storeUpload(store: DataHubStore, info: UploadInfo, account: Address, body: Uint8Array, intake: Intake & { ok: true }, now: number): Promise<number> {
  return Promise.resolve(store.addUpload({ ...info, account, rawBytes: body.length, verdicts: intake.verdicts }, intake.docs, now));
}

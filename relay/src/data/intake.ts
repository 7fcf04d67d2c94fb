import type { Address } from '@blyan/block';
import { type StoredVerdict, prefilterYielding, splitDocuments, storedVerdict } from '@blyan/data';
import type { DataConfig } from './config.ts';
import { isHidden } from './hidden.ts';
import type { DataStore, NewDoc } from './store.ts';

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
 * L0 on an upload's bytes, the rule that counts (the page runs the same code for instant
 * feedback): cut at separator lines, each document checked against what the hub already holds
 * and against the upload's earlier documents; each kept one gets its held-out flag from the
 * keyed hash. Hands the event loop back every few milliseconds (prefilterYielding), so serving
 * goes on while a large upload is checked; run it with storeUpload inside the hub's intake queue,
 * so no other upload's documents are stored between the check and the store. Writes nothing.
 */
export async function checkUpload(store: DataStore, secret: Uint8Array, config: DataConfig, body: Uint8Array): Promise<Intake> {
  const verdicts = await prefilterYielding(splitDocuments(body), store.known(), config.limits);
  const docs: NewDoc[] = verdicts.flatMap((v) =>
    v.ok ? [{ sha256: v.sha256, text: v.text, bytes: v.bytes, signature: v.signature, hidden: isHidden(secret, v.sha256, config.hiddenFraction) }] : [],
  );
  const out = verdicts.map(storedVerdict);
  return docs.length === 0 ? { ok: false, verdicts: out } : { ok: true, verdicts: out, docs };
}

export function storeUpload(store: DataStore, info: UploadInfo, account: Address, body: Uint8Array, intake: Intake & { ok: true }, now: number): number {
  return store.addUpload({ ...info, account, rawBytes: body.length, verdicts: intake.verdicts }, intake.docs, now);
}

import type { Address, DelegationCheck } from '@blyan/block';
import { type SignedVote, openVote } from '@blyan/data';
import type { DataConfig } from './config.ts';
import type { Fate } from './review-rules.ts';
import type { DataHubStore } from './store.ts';

export type VoteRefusal = { ok: false; status: 400 | 403 | 404 | 409 | 422; code: string; message: string };
export type VoteResult = { ok: true; id: number; settled: 'keep' | 'drop' | null; upload: Fate } | VoteRefusal;

const no = (status: VoteRefusal['status'], code: string, message: string): VoteRefusal => ({ ok: false, status, code, message });

export interface ReviewDeps {
  readonly store: DataHubStore;
  readonly isDelegate: DelegationCheck;
  readonly config: DataConfig;
  readonly now: () => number;
}

/**
 * L2: records a signed keep/drop vote on a sampled document of an upload under review. The vote
 * must be the signed-in account's, signed by it or its live session key, fresh, on a sampled and
 * unsettled document of someone else's upload, and never seen before (its nonce and signature are
 * unique: a replay is refused). `votesToSettle` agreeing votes settle the document and credit the
 * voters who agreed; once the sample has settled the upload moves on or is refused: the store
 * records all that in one transaction (DataHubStore.castVote).
 */
export async function castVote(d: ReviewDeps, account: Address, body: unknown): Promise<VoteResult> {
  const opened = await openVote(body);
  if (!opened.ok) return no(400, 'malformed_vote', opened.message);
  const v: SignedVote = opened.vote;
  if (await d.store.seen(v.nonce, v.sig)) {
    return no(409, 'replayed_vote', 'this signed vote was already counted; sign a new one');
  }
  if (v.voter !== account) return no(403, 'wrong_voter', `the vote is ${v.voter}'s, the signed-in account is ${account}`);
  if (opened.signer !== account && !(await d.isDelegate(account, opened.signer))) return no(403, 'undelegated_key', `${opened.signer} is no live session key of ${account}`);
  if (Math.abs(v.at - d.now()) > d.config.voteSkewMs) return no(422, 'stale_vote', `the vote was signed at ${v.at}; votes must be signed within ${d.config.voteSkewMs / 60_000} minutes`);
  const upload = await d.store.get(v.upload);
  if (upload === undefined) return no(404, 'not_found', `no upload ${v.upload}`);
  if (upload.account === account) return no(403, 'own_upload', 'nobody reviews their own upload');
  if (upload.status !== 'review') return no(409, 'not_in_review', `upload ${v.upload} is ${upload.status}, not under review`);
  const doc = (await d.store.docs(v.upload)).find((x) => x.sha256 === v.doc);
  if (doc === undefined || !doc.sampled) return no(422, 'not_sampled', `document ${v.doc} is not in upload ${v.upload}'s review sample`);
  if (doc.settled !== null) return no(409, 'settled', `document ${v.doc} already settled as ${doc.settled}`);
  const r = await d.store.castVote({ upload: v.upload, doc: v.doc, account, signer: opened.signer, keep: v.keep, nonce: v.nonce, sig: v.sig }, d.config, d.now());
  if (r.ok) return r;
  if (r.code === 'already_voted') return no(409, 'already_voted', `${account} already voted on document ${v.doc}`);
  return r.code === 'settled' ? no(409, 'settled', `document ${v.doc} has just settled`) : no(409, 'not_in_review', `upload ${v.upload} is no longer under review`);
}

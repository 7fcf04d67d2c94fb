import type { Address, DelegationCheck } from '@blyan/block';
import { type SignedVote, openVote } from '@blyan/data';
import type Database from 'better-sqlite3';
import { REWARDS_ACCOUNT, type Journal, userAccount } from '../rewards/journal.ts';
import type { DataConfig } from './config.ts';
import type { DataStore } from './store.ts';

export type VoteRefusal = { ok: false; status: 400 | 403 | 404 | 409 | 422; code: string; message: string };
export type VoteResult = { ok: true; id: number; settled: 'keep' | 'drop' | null; upload: 'review' | 'appending' | 'refused' } | VoteRefusal;

const no = (status: VoteRefusal['status'], code: string, message: string): VoteRefusal => ({ ok: false, status, code, message });

/** The vote statements, prepared once when the hub opens. */
export function voteStatements(db: Database.Database) {
  return {
    seen: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM data_votes WHERE nonce = ? OR sig = ?'),
    insert: db.prepare('INSERT INTO data_votes (upload, doc, account, signer, keep, nonce, sig, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (upload, doc, account) DO NOTHING'),
    ofDoc: db.prepare<[number, string], VoteRow>('SELECT id, account, keep FROM data_votes WHERE upload = ? AND doc = ? ORDER BY id'),
  };
}

export interface ReviewDeps {
  readonly db: Database.Database;
  readonly votes: ReturnType<typeof voteStatements>;
  readonly store: DataStore;
  readonly journal: Journal;
  readonly isDelegate: DelegationCheck;
  readonly config: DataConfig;
  readonly now: () => number;
}

interface VoteRow {
  id: number;
  account: Address;
  keep: number;
}

/** The upload's fate once every sampled document has settled: refused when more than maxDropShare of them were dropped. */
function outcome(d: ReviewDeps, upload: number): 'review' | 'appending' | 'refused' {
  const sample = d.store.docs(upload).filter((x) => x.sampled);
  if (sample.some((x) => x.settled === null)) return 'review';
  const dropped = sample.filter((x) => x.settled === 'drop').length;
  return dropped / sample.length > d.config.maxDropShare ? 'refused' : 'appending';
}

/**
 * L2: records a signed keep/drop vote on a sampled document of an upload under review. The vote
 * must be the signed-in account's, signed by it or its live session key, fresh, on a sampled and
 * unsettled document of someone else's upload, and never seen before (its nonce and signature are
 * unique: a replay is refused). `votesToSettle` agreeing votes settle the document and credit the
 * voters who agreed; once the sample has settled the upload moves on or is refused. One transaction.
 */
export async function castVote(d: ReviewDeps, account: Address, body: unknown): Promise<VoteResult> {
  const opened = await openVote(body);
  if (!opened.ok) return no(400, 'malformed_vote', opened.message);
  const v: SignedVote = opened.vote;
  if (d.votes.seen.get(v.nonce, v.sig) !== undefined) {
    return no(409, 'replayed_vote', 'this signed vote was already counted; sign a new one');
  }
  if (v.voter !== account) return no(403, 'wrong_voter', `the vote is ${v.voter}'s, the signed-in account is ${account}`);
  if (opened.signer !== account && !(await d.isDelegate(account, opened.signer))) return no(403, 'undelegated_key', `${opened.signer} is no live session key of ${account}`);
  if (Math.abs(v.at - d.now()) > d.config.voteSkewMs) return no(422, 'stale_vote', `the vote was signed at ${v.at}; votes must be signed within ${d.config.voteSkewMs / 60_000} minutes`);
  const upload = d.store.get(v.upload);
  if (upload === undefined) return no(404, 'not_found', `no upload ${v.upload}`);
  if (upload.account === account) return no(403, 'own_upload', 'nobody reviews their own upload');
  if (upload.status !== 'review') return no(409, 'not_in_review', `upload ${v.upload} is ${upload.status}, not under review`);
  const doc = d.store.docs(v.upload).find((x) => x.sha256 === v.doc);
  if (doc === undefined || !doc.sampled) return no(422, 'not_sampled', `document ${v.doc} is not in upload ${v.upload}'s review sample`);
  if (doc.settled !== null) return no(409, 'settled', `document ${v.doc} already settled as ${doc.settled}`);
  return d.db.transaction((): VoteResult => {
    const r = d.votes.insert.run(v.upload, v.doc, account, opened.signer, v.keep ? 1 : 0, v.nonce, v.sig, d.now());
    if (r.changes === 0) return no(409, 'already_voted', `${account} already voted on document ${v.doc}`);
    const votes = d.votes.ofDoc.all(v.upload, v.doc);
    const keeps = votes.filter((x) => x.keep === 1).length;
    const settled = keeps >= d.config.votesToSettle ? 'keep' : votes.length - keeps >= d.config.votesToSettle ? 'drop' : null;
    if (settled !== null) {
      d.store.settle(v.upload, v.doc, settled);
      for (const x of votes.filter((x) => (x.keep === 1) === (settled === 'keep'))) {
        d.journal.post({
          kind: 'review',
          ref: String(x.id),
          memo: `review: ${settled} document ${v.doc} of upload ${v.upload}`,
          postings: [
            { account: REWARDS_ACCOUNT, amount: -d.config.creditPerVote },
            { account: userAccount(x.account), amount: d.config.creditPerVote },
          ],
        });
      }
    }
    const next = outcome(d, v.upload);
    if (next === 'refused') {
      d.store.setStatus(v.upload, 'refused', `reviewers dropped more than ${d.config.maxDropShare * 100} % of the sample`, d.now());
    } else if (next === 'appending') d.store.setStatus(v.upload, 'appending', null, null);
    return { ok: true, id: Number(r.lastInsertRowid), settled, upload: next };
  })();
}

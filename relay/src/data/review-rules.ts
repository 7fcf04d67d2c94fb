import type { Address, Hash } from '@blyan/block';
import type { UploadStatus } from '@blyan/data';
import { REWARDS_ACCOUNT, type JournalEntry, userAccount } from '../rewards/journal.ts';

/** A vote the review route checked (signature, voter, delegation, freshness, sample), about to be recorded. */
export interface CastVote {
  readonly upload: number;
  readonly doc: Hash;
  readonly account: Address;
  readonly signer: Address;
  readonly keep: boolean;
  readonly nonce: string;
  readonly sig: string;
}

/** What settles a document and an upload, and what an agreeing vote earns (from DataConfig). */
export interface VoteRules {
  readonly votesToSettle: number;
  readonly maxDropShare: number;
  readonly creditPerVote: number;
}

export type Fate = 'review' | 'appending' | 'refused';

/** What recording a vote did, or why the store would not (checked again inside its transaction). */
export type VoteRecorded = { ok: true; id: number; settled: 'keep' | 'drop' | null; upload: Fate } | { ok: false; code: 'already_voted' | 'not_in_review' | 'settled' };

export interface CountedVote {
  readonly id: number;
  readonly account: Address;
  readonly keep: boolean;
}

/** A document settles as keep (or drop) once `votesToSettle` of its votes say so. */
export function settlementOf(votes: readonly CountedVote[], rules: VoteRules): 'keep' | 'drop' | null {
  const keeps = votes.filter((x) => x.keep).length;
  return keeps >= rules.votesToSettle ? 'keep' : votes.length - keeps >= rules.votesToSettle ? 'drop' : null;
}

/** One journal entry per vote that agreed with how its document settled, its ref the vote's id (so each vote is credited once). */
export function creditsFor(v: Pick<CastVote, 'upload' | 'doc'>, settled: 'keep' | 'drop', votes: readonly CountedVote[], rules: VoteRules): JournalEntry[] {
  return votes
    .filter((x) => x.keep === (settled === 'keep'))
    .map((x) => ({
      kind: 'review' as const,
      ref: String(x.id),
      memo: `review: ${settled} document ${v.doc} of upload ${v.upload}`,
      postings: [
        { account: REWARDS_ACCOUNT, amount: -rules.creditPerVote },
        { account: userAccount(x.account), amount: rules.creditPerVote },
      ],
    }));
}

/** The upload's fate once every sampled document has settled: refused when more than maxDropShare of them were dropped. */
export function fateOf(docs: readonly { sampled: boolean; settled: 'keep' | 'drop' | null }[], rules: VoteRules): Fate {
  const sample = docs.filter((x) => x.sampled);
  if (sample.some((x) => x.settled === null)) return 'review';
  const dropped = sample.filter((x) => x.settled === 'drop').length;
  return dropped / sample.length > rules.maxDropShare ? 'refused' : 'appending';
}

/** The status change a fate makes, if any. */
export function statusFor(fate: Fate, rules: VoteRules, now: number): { status: UploadStatus; detail: string | null; decidedAt: number | null } | null {
  if (fate === 'refused') return { status: 'refused', detail: `reviewers dropped more than ${rules.maxDropShare * 100} % of the sample`, decidedAt: now };
  if (fate === 'appending') return { status: 'appending', detail: null, decidedAt: null };
  return null;
}

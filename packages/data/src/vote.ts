import { type Address, type Hash, type Signer, canonicalHash, isAddress, isHash, recoverDigestSigner, signDigest } from '@blyan/block';

/**
 * An L2 review vote: `voter` keeps or drops document `doc` of pending upload `upload`, signed by
 * the voter's session key over the JCS hash of every field but `sig` (EIP-191, as verdicts are).
 * `nonce` makes each vote unique, so a vote sent twice is recognised as a replay.
 */
export interface Vote {
  v: 1;
  kind: 'blyan-dataset-vote';
  upload: number;
  doc: Hash;
  keep: boolean;
  voter: Address;
  nonce: Hash;
  at: number;
}

export type SignedVote = Vote & { sig: `0x${string}` };

const KEYS = ['v', 'kind', 'upload', 'doc', 'keep', 'voter', 'nonce', 'at'] as const;

export function voteHash(v: Vote): Hash {
  return canonicalHash(Object.fromEntries(KEYS.map((k) => [k, v[k]])));
}

export async function signVote(v: Vote, signer: Signer): Promise<SignedVote> {
  return { ...v, sig: await signDigest(voteHash(v), signer) };
}

/** Checks an untrusted vote's shape and returns it typed with the key that signed it, or the first problem. */
export async function openVote(x: unknown): Promise<{ ok: true; vote: SignedVote; signer: Address } | { ok: false; message: string }> {
  const bad = (message: string) => ({ ok: false as const, message });
  if (typeof x !== 'object' || x === null) return bad('a vote is a JSON object');
  const v = x as Record<string, unknown>;
  for (const k of Object.keys(v)) if (k !== 'sig' && !(KEYS as readonly string[]).includes(k)) return bad(`unknown vote field ${k}`);
  if (v.v !== 1 || v.kind !== 'blyan-dataset-vote') return bad('a vote has v 1 and kind blyan-dataset-vote');
  if (!Number.isSafeInteger(v.upload) || (v.upload as number) < 1) return bad('upload must be an upload id');
  if (!isHash(v.doc) || !isHash(v.nonce)) return bad('doc and nonce must be hashes');
  if (typeof v.keep !== 'boolean') return bad('keep must be true or false');
  if (!isAddress(v.voter)) return bad('voter must be a lowercase address');
  if (!Number.isSafeInteger(v.at) || (v.at as number) < 0) return bad('at must be milliseconds since the epoch');
  if (typeof v.sig !== 'string' || !/^0x[0-9a-f]{130}$/.test(v.sig)) return bad('sig must be a 65-byte lowercase 0x hex signature');
  const vote = v as unknown as SignedVote;
  try {
    return { ok: true, vote, signer: await recoverDigestSigner(voteHash(vote), vote.sig) };
  } catch (e) {
    return bad(`the signature does not recover: ${(e as Error).message.split('\n')[0]}`);
  }
}

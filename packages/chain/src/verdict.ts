import { type Address, type Hash, type Signer, canonicalHash, hashBytes, isAddress, isHash, payloadHash, recoverDigestSigner, signDigest } from '@blyan/block';

/**
 * A proof-of-learning verdict: an evaluator judged candidate `block` for `slot` against the head
 * `base` it replaces, under meta block `meta`, on `tokens` hidden tokens drawn by `sample.seed`
 * (whose SHA-256, `sample.commitment`, was published before judging).
 */
export interface Verdict {
  v: 1;
  block: Hash;
  slot: string;
  base: Hash;
  meta: Hash;
  accepted: boolean;
  /** Mean hidden cross-entropy of the base model, nats/token. */
  baseline: number;
  /** The same with the candidate in place. */
  candidate: number;
  tokens: number;
  sample: { commitment: Hash; seed: Hash };
  evaluator: Address;
  /** Milliseconds since the epoch. */
  judged_at: number;
}

export type SignedVerdict = Verdict & { sig: `0x${string}` };

export class VerdictError extends Error {
  override name = 'VerdictError';
}

const KEYS = ['v', 'block', 'slot', 'base', 'meta', 'accepted', 'baseline', 'candidate', 'tokens', 'sample', 'evaluator', 'judged_at'] as const;
const SIG_RE = /^0x[0-9a-f]{130}$/;
const SLOT_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

function fail(msg: string): never {
  throw new VerdictError(`verdict: ${msg}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isLoss = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** SHA-256 of the JCS canonical JSON of every field but `sig` (as a block hash is of its header). */
export function verdictHash(v: Verdict): Hash {
  const unsigned: Record<string, unknown> = {};
  for (const k of KEYS) unsigned[k] = v[k];
  return canonicalHash(unsigned);
}

/** Signs with EIP-191 personal_sign over the raw 32 bytes of verdictHash. */
export async function signVerdict(v: Verdict, signer: Signer): Promise<SignedVerdict> {
  return { ...v, sig: await signDigest(verdictHash(v), signer) };
}

/** The lowercase address that signed `sv`; throws VerdictError if the signature does not recover. */
export async function recoverVerdictSigner(sv: SignedVerdict): Promise<Address> {
  try {
    return await recoverDigestSigner(verdictHash(sv), sv.sig);
  } catch (e) {
    fail(`signature does not recover: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The commitment published before judging: SHA-256 of the seed's 32 bytes. */
export function sampleCommitment(seed: Hash): Hash {
  return payloadHash(hashBytes(seed));
}

/**
 * Checks an untrusted value (JSON from the network or the store) and returns it typed; throws
 * VerdictError naming the first bad field. The seed must open the commitment. The signature's
 * shape is checked here, its signer by recoverVerdictSigner.
 */
export function parseVerdict(x: unknown): SignedVerdict {
  if (!isRecord(x)) fail('must be a JSON object');
  for (const k of Object.keys(x)) if (k !== 'sig' && !(KEYS as readonly string[]).includes(k)) fail(`unknown field ${k}`);
  for (const k of [...KEYS, 'sig']) if (!(k in x)) fail(`field ${k} is missing`);
  if (x.v !== 1) fail(`unsupported version ${String(x.v)}`);
  for (const k of ['block', 'base', 'meta'] as const) if (!isHash(x[k])) fail(`${k} must be a hash`);
  if (typeof x.slot !== 'string' || !SLOT_RE.test(x.slot)) fail('slot must match [A-Za-z0-9_.:-]{1,128}');
  if (typeof x.accepted !== 'boolean') fail('accepted must be a boolean');
  if (!isLoss(x.baseline) || !isLoss(x.candidate)) fail('baseline and candidate must be finite non-negative losses');
  if (!isCount(x.tokens)) fail('tokens must be a non-negative integer');
  const s = x.sample;
  if (!isRecord(s) || Object.keys(s).length !== 2 || !isHash(s.commitment) || !isHash(s.seed)) fail('sample must be { commitment, seed }, two hashes');
  if (sampleCommitment(s.seed) !== s.commitment) fail('sample.seed does not open sample.commitment');
  if (!isAddress(x.evaluator)) fail('evaluator must be a lowercase 0x-prefixed 20-byte address');
  if (!isCount(x.judged_at)) fail('judged_at must be milliseconds since the epoch');
  if (typeof x.sig !== 'string' || !SIG_RE.test(x.sig)) fail('sig must be a 65-byte lowercase 0x hex signature');
  return x as unknown as SignedVerdict;
}

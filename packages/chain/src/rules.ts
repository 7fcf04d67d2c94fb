import {
  type Block,
  type BlockHeader,
  type DelegationCheck,
  type Hash,
  blockHash,
  payloadLeaves,
  verifySignature,
} from '@blyan/block';
import { type MetaHeader, authorizeBlock } from './authority.ts';
import type { SignedVerdict } from './verdict.ts';

/**
 * What validation needs to know about the chain so far. Every lookup is a hash-map or index hit,
 * so validating a block costs O(1) amortized plus its payload hash: nothing re-walks the chain.
 */
export interface ChainView {
  header(hash: Hash): BlockHeader | undefined;
  /** The model version of a meta block: the hash of the meta block that started it. */
  versionOf(metaHash: Hash): Hash | undefined;
  /** Head of the meta chain A, or null before genesis. */
  metaHead(): Hash | null;
  /** Current block of a parameter or dataset slot within a model version. */
  slotHead(version: Hash, name: string): Hash | null;
}

/**
 * A check of a block's payload against the meta block that declares its slot (for a meta block: the
 * block itself), run last, after the commitments: the problem as a sentence, or null when it fits.
 */
export type PayloadCheck = (block: Block, governing: MetaHeader) => Promise<string | null>;

export interface RuleOptions {
  /** May `signer` sign for `author` now? (SIWE session-key delegation.) */
  isDelegate?: DelegationCheck;
  maxPayloadBytes: number;
  /** A refusal is 422 payload_shape (the relay: a parameter payload holds exactly its slot's tensors). */
  checkPayload?: PayloadCheck;
}

export type RejectCode =
  | 'duplicate'
  | 'payload_too_large'
  | 'unknown_dependency'
  | 'bad_dependency'
  | 'bad_index'
  | 'stale_prev'
  | 'undeclared_slot'
  | 'not_authorized'
  | 'bad_verdict'
  | 'payload_shape'
  | 'payload_size_mismatch'
  | 'payload_hash_mismatch'
  | 'merkle_mismatch'
  | 'bad_signature'
  | 'wrong_author';

export interface Rejection {
  ok: false;
  status: 401 | 403 | 409 | 413 | 422;
  code: RejectCode;
  message: string;
}

export interface Accepted {
  ok: true;
  hash: Hash;
  header: BlockHeader;
  /** The model version the block belongs to. */
  version: Hash;
  /**
   * The slot whose head moves: `A/meta` for the meta chain, `D/<name>` for a dataset, the block
   * name for a parameter. Names cannot contain `/`, so the three never collide.
   */
  slot: string;
  /** A meta block with a new architecture starts a new model version. */
  startsVersion: boolean;
  /** The payload's tile leaf hashes, in order, as checked against `merkle_root`. */
  leaves: Uint8Array[];
  /** What let it in: founding the chain, an authority's own signature, or an evaluator's verdict. */
  by: 'genesis' | 'authority' | 'verdict';
  /** The verdict that let it in (stored and served with the block); null unless `by` is 'verdict'. */
  verdict: SignedVerdict | null;
}

/** Where a block goes, and the meta block that governs it (null only for the founding meta block). */
type Placed = Omit<Accepted, 'leaves' | 'by' | 'verdict'> & { governing: Hash | null };

export const META_SLOT = 'A/meta';

export function slotOf(h: BlockHeader): string {
  return h.chain === 'A' ? META_SLOT : h.chain === 'D' ? `D/${h.name}` : h.name;
}

const reject = (status: Rejection['status'], code: RejectCode, message: string): Rejection => ({
  ok: false,
  status,
  code,
  message,
});

/** `prev`, `index` and `depends_on` agree with the head the block claims to replace. */
function checkLineage(view: ChainView, h: BlockHeader, head: Hash | null, what: string): Rejection | null {
  if (h.prev !== head) {
    return reject(409, 'stale_prev', `${what} head is ${head ?? 'empty'}, block names prev ${h.prev ?? 'null'}`);
  }
  if (h.prev !== null && !h.depends_on.includes(h.prev)) {
    return reject(422, 'bad_dependency', 'prev must also be listed in depends_on');
  }
  const want = h.prev === null ? 0 : view.header(h.prev)!.index + 1;
  if (h.index !== want) return reject(422, 'bad_index', `index must be ${want}, got ${h.index}`);
  return null;
}

function placeMeta(view: ChainView, h: MetaHeader, hash: Hash): Placed | Rejection {
  const bad = checkLineage(view, h, view.metaHead(), 'meta chain');
  if (bad) return bad;
  const prev = h.prev === null ? undefined : view.header(h.prev);
  const continues = prev?.type === 'meta' && prev.meta.arch === h.meta.arch;
  const version = continues ? view.versionOf(h.prev!)! : hash;
  return { ok: true, hash, header: h, version, slot: META_SLOT, startsVersion: !continues, governing: h.prev };
}

function placeSlotted(view: ChainView, h: BlockHeader, hash: Hash): Placed | Rejection {
  const metas = h.depends_on.filter((d) => view.header(d)!.type === 'meta');
  if (metas.length !== 1) {
    return reject(422, 'bad_dependency', `a ${h.type} block depends on exactly one meta block, found ${metas.length}`);
  }
  const meta = view.header(metas[0]!)!;
  if (meta.type !== 'meta') throw new Error('unreachable: filtered on type');
  if (h.type !== 'dataset' && !meta.meta.slots.some((s) => s.name === h.name && s.type === h.type)) {
    return reject(422, 'undeclared_slot', `meta block ${metas[0]} declares no ${h.type} slot ${h.name}`);
  }
  const version = view.versionOf(metas[0]!)!;
  const slot = slotOf(h);
  const bad = checkLineage(view, h, view.slotHead(version, slot), `slot ${slot}`);
  if (bad) return bad;
  return { ok: true, hash, header: h, version, slot, startsVersion: false, governing: metas[0]! };
}

/**
 * Decides whether `block` may be appended, cheapest and most telling checks first: structure and
 * lineage, then the header signature (before any payload byte is hashed, so a forged 60 MiB block
 * costs one signature recovery), then who may move the head (authorizeBlock, with the evaluator's
 * `verdict` if one is offered), then the payload commitments, then `opts.checkPayload`. Never
 * mutates anything: the caller applies an Accepted.
 */
export async function validateBlock(view: ChainView, block: Block, opts: RuleOptions, verdict?: SignedVerdict): Promise<Accepted | Rejection> {
  const h = block.header;
  const hash = blockHash(h);
  if (view.header(hash)) return reject(409, 'duplicate', `block ${hash} is already on the chain`);
  if (h.payload_size > opts.maxPayloadBytes || block.payload.length > opts.maxPayloadBytes) {
    return reject(413, 'payload_too_large', `payload exceeds ${opts.maxPayloadBytes} bytes`);
  }
  for (const d of h.depends_on) {
    if (!view.header(d)) return reject(422, 'unknown_dependency', `dependency ${d} is not on the chain`);
  }
  const placed = h.type === 'meta' ? placeMeta(view, h, hash) : placeSlotted(view, h, hash);
  if (!placed.ok) return placed;
  const sig = await verifySignature(h, opts.isDelegate);
  if (!sig.ok) return reject(sig.code === 'bad_signature' ? 401 : 403, sig.code, sig.message);
  const { governing, ...place } = placed;
  const rules = governing === null ? null : (view.header(governing) as MetaHeader);
  const auth = await authorizeBlock(h, hash, sig, rules, governing, verdict);
  if (!auth.ok) return auth;
  const payload = payloadLeaves(h, block.payload);
  if (!payload.ok) return reject(422, payload.code, payload.message);
  const problem = await opts.checkPayload?.(block, h.type === 'meta' ? h : rules!);
  if (problem) return reject(422, 'payload_shape', problem);
  return { ...place, leaves: payload.leaves, by: auth.by, verdict: auth.by === 'verdict' ? verdict! : null };
}

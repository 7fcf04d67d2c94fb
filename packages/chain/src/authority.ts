import type { Address, BlockHeader, Hash } from '@blyan/block';
import { type SignedVerdict, parseVerdict, recoverVerdictSigner } from './verdict.ts';

export type MetaHeader = BlockHeader & { type: 'meta' };

export type Authorization =
  | { ok: true; by: 'genesis' | 'authority' | 'verdict' }
  | { ok: false; status: 403; code: 'not_authorized' | 'bad_verdict'; message: string };

const refuse = (code: 'not_authorized' | 'bad_verdict', message: string): Authorization => ({ ok: false, status: 403, code, message });

/** The first check the verdict fails, or null when it attests this block under this meta block. */
async function verdictProblem(h: BlockHeader, hash: Hash, governing: MetaHeader, governingHash: Hash, v: SignedVerdict): Promise<string | null> {
  let signer: Address;
  try {
    signer = await recoverVerdictSigner(parseVerdict(v));
  } catch (e) {
    return (e as Error).message;
  }
  if (signer !== v.evaluator) return `verdict names evaluator ${v.evaluator} but was signed by ${signer}`;
  if (!governing.meta.evaluators.includes(v.evaluator)) return `${v.evaluator} is not an evaluator of meta block ${governingHash}`;
  if (v.block !== hash) return `verdict judges block ${v.block}, not ${hash}`;
  const base = h.prev ?? (h.type === 'dataset' ? governingHash : null);
  if (v.base !== base) {
    return base === null
      ? `verdict names base ${v.base}, but the first block of parameter slot ${h.name} is the authorities' alone`
      : `verdict must name base ${base}, it names ${v.base}`;
  }
  if (v.slot !== h.name) return `verdict judges slot ${v.slot}, the block is ${h.name}`;
  if (v.meta !== governingHash) return `verdict was judged under meta block ${v.meta}, the block depends on ${governingHash}`;
  if (!v.accepted) return 'verdict rejected the block';
  return null;
}

/**
 * May this block move its head? `governing` is the meta block that rules it: for a meta block its
 * prev (null for the very first meta block, which founds the chain), for a parameter or dataset
 * block its one meta dependency. An authority that the governing meta block names may sign
 * anything with its own key; anyone else needs an accepted verdict for exactly this block, signed
 * by an evaluator the governing meta block names (the block itself may then be signed by a session
 * key its author delegated). A verdict names as its `base` the block it replaces; the first block of a
 * dataset replaces nothing, and its verdict names the governing meta block instead (the first block
 * of a parameter slot is the authorities' alone). Pure: the relay and the browser run the same rule.
 */
export async function authorizeBlock(
  h: BlockHeader,
  hash: Hash,
  sig: { signer: Address; delegated: boolean },
  governing: MetaHeader | null,
  governingHash: Hash | null,
  verdict?: SignedVerdict,
): Promise<Authorization> {
  if (governing === null || governingHash === null) {
    return h.type === 'meta' && h.prev === null
      ? { ok: true, by: 'genesis' }
      : refuse('not_authorized', `block ${hash} has no governing meta block`);
  }
  if (!sig.delegated && governing.meta.authorities.includes(sig.signer)) return { ok: true, by: 'authority' };
  if (verdict === undefined) {
    return refuse('not_authorized', `${h.author} is not an authority of meta block ${governingHash}, and the block carries no evaluator's verdict`);
  }
  if (h.type === 'meta') return refuse('bad_verdict', 'a verdict cannot append a meta block: only authorities may');
  const problem = await verdictProblem(h, hash, governing, governingHash, verdict);
  return problem === null ? { ok: true, by: 'verdict' } : refuse('bad_verdict', problem);
}

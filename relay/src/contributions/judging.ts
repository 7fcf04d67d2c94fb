import type { Hash, Signer } from '@blyan/block';
import type { IndexStore } from '../store/index-store.ts';

/** Why a relay without a named evaluator key takes no contributions. */
export const NO_EVALUATOR =
  'this relay holds no evaluator key that the meta block names, so it cannot judge contributions; it serves the model as a mirror (contribute through a relay that judges: GET /v1/contributions/config)';

/** The relay's evaluator key when meta block `meta` names it among its evaluators, else null. */
export async function namedEvaluator(index: IndexStore, key: Signer | null, meta: Hash | null): Promise<Signer | null> {
  if (key === null || meta === null) return null;
  const h = (await index.block(meta))?.header;
  return h?.type === 'meta' && h.meta.evaluators.includes(key.address.toLowerCase() as `0x${string}`) ? key : null;
}

import type { Signer } from '@blyan/block';
import type { IndexStore } from './store/index-store.ts';

/**
 * Does this relay judge contributions? Only when it holds an evaluator key (`signer`) that the
 * current meta head names: a verdict signed by any other key would be refused by the chain rules.
 */
export async function judgesContributions(index: IndexStore, signer: Signer | null): Promise<boolean> {
  if (signer === null) return false;
  const head = await index.metaHead();
  if (head === null) return false;
  const h = (await index.block(head))?.header;
  return h?.type === 'meta' && h.meta.evaluators.includes(signer.address.toLowerCase() as `0x${string}`);
}

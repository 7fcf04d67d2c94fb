import { readFile } from 'node:fs/promises';
import { relayRules, storeDir } from '../config.ts';
import { openRelay } from '../relay.ts';
import { type Log, STORE_OPTION, UsageError, backendsFrom, parse } from './args.ts';
import { foundNetwork, foundingKeys } from './seed.ts';

/**
 * `blyan genesis --checkpoint FILE`: founds a separate network in an empty store: a genesis
 * authority key and an evaluator key in the store (or from the environment), the genesis blocks,
 * and `<store>/genesis.json`, the pin and signed headers that other relays and the app import.
 */
export async function genesis(args: string[], log: Log): Promise<number> {
  const { values } = parse(args, { ...STORE_OPTION, checkpoint: { type: 'string' }, f32: { type: 'boolean' }, 'evaluator-key': { type: 'string' } });
  if (values.checkpoint === undefined) throw new UsageError('genesis needs --checkpoint FILE');
  const bytes = await readFile(values.checkpoint);
  const dir = storeDir(values.store);
  const keys = await foundingKeys(dir, values['evaluator-key']);
  const relay = await openRelay(dir, relayRules(Number.MAX_SAFE_INTEGER), undefined, null, backendsFrom(values));
  try {
    const counts = await relay.index.counts();
    const total = counts.A + counts.B + counts.D;
    if (total > 0) throw new Error(`store ${dir} already holds ${total} blocks; genesis needs an empty store`);
    await foundNetwork(relay.ledger, dir, bytes, keys, values.f32 ?? false, values.checkpoint, log);
    log(`meta head ${await relay.index.metaHead()} in ${dir}`);
    return 0;
  } finally {
    await relay.close();
  }
}

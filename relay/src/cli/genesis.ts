import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { genesisKey, relayRules, storeDir } from '../config.ts';
import { openRelay } from '../relay.ts';
import { indexPath } from '../store/open.ts';
import { type Log, STORE_OPTION, UsageError, parse } from './args.ts';
import { seedGenesis } from './seed.ts';

/** `blyan genesis --checkpoint FILE`: seeds an empty store from a checkpoint. */
export async function genesis(args: string[], log: Log): Promise<number> {
  const { values } = parse(args, { ...STORE_OPTION, checkpoint: { type: 'string' }, f32: { type: 'boolean' } });
  if (values.checkpoint === undefined) throw new UsageError('genesis needs --checkpoint FILE');
  const bytes = await readFile(values.checkpoint);
  const dir = storeDir(values.store);
  const key = await genesisKey(dir, !existsSync(indexPath(dir)));
  const relay = await openRelay(dir, relayRules(Number.MAX_SAFE_INTEGER));
  try {
    const counts = await relay.index.counts();
    const total = counts.A + counts.B + counts.D;
    if (total > 0) throw new Error(`store ${dir} already holds ${total} blocks; genesis needs an empty store`);
    await seedGenesis(relay.ledger, bytes, key, values.f32 ?? false, values.checkpoint, log);
    log(`meta head ${await relay.index.metaHead()} in ${dir}`);
    return 0;
  } finally {
    await relay.close();
  }
}

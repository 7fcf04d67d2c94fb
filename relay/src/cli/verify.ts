import { provenDelegations, storedLogins } from '../auth/proofs.ts';
import { storeDir } from '../config.ts';
import { openStores } from '../store/open.ts';
import { verifyStore } from '../verify.ts';
import { type Log, STORE_OPTION, backendsFrom, parse } from './args.ts';

const SHOWN = 20;

/** `blyan verify`: replays the whole store through the chain rules; exit 1 on any problem. */
export async function verify(args: string[], log: Log): Promise<number> {
  const { values } = parse(args, STORE_OPTION);
  const dir = storeDir(values.store);
  const backends = backendsFrom(values);
  const { index, objects } = await openStores(dir, 'readonly', backends);
  try {
    const started = performance.now();
    const delegatedAt = await provenDelegations(await storedLogins(dir, backends));
    const r = await verifyStore(index, objects, delegatedAt);
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    log(`verified ${r.blocks} blocks in ${secs} s: ${r.versions} model version(s), meta head ${r.metaHead}`);
    if (r.problems.length === 0) {
      log('OK: every block re-validates and every head matches the replay');
      return 0;
    }
    log(`FAILED: ${r.problems.length} problem(s)`);
    for (const p of r.problems.slice(0, SHOWN)) log(`  ${p}`);
    if (r.problems.length > SHOWN) log(`  … and ${r.problems.length - SHOWN} more`);
    return 1;
  } finally {
    await index.close();
  }
}

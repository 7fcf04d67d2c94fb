import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Block } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { type StoreKey, evaluatorKey, genesisKey } from '../config.ts';
import { checkGenesis, genesisFile, genesisFromCheckpoint, parseGenesisFile, rebuildGenesis } from '../genesis.ts';
import type { Ledger } from '../ledger.ts';
import { indexPath } from '../store/open.ts';
import type { Log } from './args.ts';

/** The keys a network is founded with: its one genesis authority and its one evaluator. */
export interface FoundingKeys {
  authority: StoreKey;
  evaluator: StoreKey;
}

/** Checks every block, then submits them all; says what it stored. */
async function submitGenesis(ledger: Ledger, blocks: readonly Block[], source: string, log: Log): Promise<void> {
  await checkGenesis(blocks);
  const byType = new Map<string, number>();
  let bytes = 0;
  for (const b of blocks) {
    const r = await ledger.submit(b);
    if (!r.ok) throw new Error(`genesis block ${b.header.name} was refused: ${r.code}: ${r.message}`);
    byType.set(b.header.type, (byType.get(b.header.type) ?? 0) + 1);
    bytes += b.payload.length;
  }
  const kinds = [...byType].map(([t, n]) => `${n} ${t}`).join(', ');
  log(`seeded genesis from ${source}: ${blocks.length} blocks (${kinds}), ${(bytes / 1048576).toFixed(2)} MiB`);
}

const keyOrigin = (k: StoreKey) => `key from ${k.path ?? (k.source === 'env' ? 'the environment' : 'a file')}${k.source === 'generated' ? ', newly generated' : ''}`;

/**
 * Founds a separate network in the store `dir`: cuts `checkpoint` into genesis blocks signed by
 * `authority`, naming it as the one authority and `evaluator` as the one evaluator, stores them,
 * and writes `<dir>/genesis.json` (the network's pin and signed headers) for others to import.
 */
export async function foundNetwork(
  ledger: Ledger,
  dir: string,
  checkpoint: Uint8Array,
  keys: FoundingKeys,
  f32: boolean,
  source: string,
  log: Log,
): Promise<void> {
  const trust = { authorities: [keys.authority.address], evaluators: [keys.evaluator.address] };
  const blocks = await genesisFromCheckpoint(checkpoint, source, privateKeyToAccount(keys.authority.key), { experts: f32 ? 'f32' : 'int8', trust });
  await submitGenesis(ledger, blocks, source, log);
  const file = genesisFile(blocks);
  await writeFile(join(dir, 'genesis.json'), `${JSON.stringify(file)}\n`);
  log(`experts ${f32 ? 'f32' : 'int8'}; founded network ${file.meta} (pin written to ${join(dir, 'genesis.json')})`);
  log(`genesis authority ${keys.authority.address} (${keyOrigin(keys.authority)})`);
  log(`evaluator ${keys.evaluator.address} (${keyOrigin(keys.evaluator)})`);
}

/**
 * Imports a published genesis without any private key: the signed headers of `genesisJson` with
 * payloads rebuilt from `checkpoint`, all checked before any is stored.
 */
export async function importGenesis(ledger: Ledger, genesisJson: string, checkpoint: Uint8Array, sources: { genesis: string; checkpoint: string }, log: Log): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(genesisJson);
  } catch (e) {
    throw new Error(`${sources.genesis}: not JSON: ${(e as Error).message}`);
  }
  const file = parseGenesisFile(json, sources.genesis);
  await submitGenesis(ledger, rebuildGenesis(file, checkpoint, sources.checkpoint), sources.checkpoint, log);
  log(`imported the genesis pinned as ${file.meta} from ${sources.genesis}`);
}

/**
 * The keys a store founding a network signs and judges with: the genesis key and the evaluator key
 * (`evaluatorFlag`, the environment or the store's own), each generated into a store that has no index yet.
 */
export async function foundingKeys(dir: string, evaluatorFlag: string | undefined): Promise<FoundingKeys> {
  const fresh = !existsSync(indexPath(dir));
  const authority = await genesisKey(dir, fresh);
  const evaluator = await evaluatorKey(dir, evaluatorFlag, fresh);
  if (evaluator === null) throw new Error(`no evaluator key: set BLYAN_EVALUATOR_KEY, pass --evaluator-key FILE or keep ${join(dir, 'evaluator.key')}`);
  return { authority, evaluator };
}

import { privateKeyToAccount } from 'viem/accounts';
import type { GenesisKey } from '../config.ts';
import { genesisFromCheckpoint } from '../genesis.ts';
import type { Ledger } from '../ledger.ts';
import type { Log } from './args.ts';

/** Cuts `checkpoint` into genesis blocks signed by `key`, submits them, and says what it did. */
export async function seedGenesis(ledger: Ledger, checkpoint: Uint8Array, key: GenesisKey, f32: boolean, source: string, log: Log): Promise<void> {
  const blocks = await genesisFromCheckpoint(checkpoint, source, privateKeyToAccount(key.key), { experts: f32 ? 'f32' : 'int8' });
  const byType = new Map<string, number>();
  let bytes = 0;
  for (const b of blocks) {
    const r = await ledger.submit(b);
    if (!r.ok) throw new Error(`genesis block ${b.header.name} was refused: ${r.code}: ${r.message}`);
    byType.set(b.header.type, (byType.get(b.header.type) ?? 0) + 1);
    bytes += b.payload.length;
  }
  const kinds = [...byType].map(([t, n]) => `${n} ${t}`).join(', ');
  log(`seeded genesis from ${source}: ${blocks.length} blocks (${kinds}), ${(bytes / 1048576).toFixed(2)} MiB, experts ${f32 ? 'f32' : 'int8'}`);
  log(`genesis authority ${key.address} (key from ${key.path ?? 'BLYAN_GENESIS_KEY'}${key.source === 'generated' ? ', newly generated' : ''})`);
}

import type { Hash } from '@blyan/block';
import type { ParamIndex, RelayClient } from '@blyan/client';
import { RelayError } from '@blyan/client';
import type { BlockCache } from './block-cache.ts';

/** What the worker needs to start without the relay: the last ParamIndex it saw and the model's size. */
export interface HeadsSnapshot {
  params: ParamIndex;
  /** Sum of the payload sizes of every slot's head block (and the meta block). */
  modelBytes: number;
}

const SNAPSHOT_KEY = 'heads';

async function modelBytes(client: RelayClient, params: ParamIndex): Promise<number> {
  const wanted = new Set<string>([params.meta, ...Object.values(params.slots)]);
  let total = 0;
  for await (const b of client.allBlocks()) {
    if (wanted.delete(b.hash)) total += b.header.payload_size;
    if (wanted.size === 0) break;
  }
  return total;
}

/**
 * The slot heads to run: fresh from the relay when it answers (and saved for later), else the last
 * snapshot saved in the cache (online false). Throws when neither is there.
 */
export async function currentHeads(client: RelayClient, cache: BlockCache, previous: HeadsSnapshot | null): Promise<{ snapshot: HeadsSnapshot; online: boolean }> {
  try {
    const params = await client.params();
    const sameSlots = previous !== null && previous.params.meta === params.meta && sameHeads(previous.params.slots, params.slots);
    const snapshot = sameSlots ? previous : { params, modelBytes: await modelBytes(client, params) };
    await cache.setState(SNAPSHOT_KEY, snapshot);
    return { snapshot, online: true };
  } catch (e) {
    if (!(e instanceof RelayError) || e.code !== 'unreachable') throw e;
    const saved = previous ?? (await cache.getState<HeadsSnapshot>(SNAPSHOT_KEY)) ?? null;
    if (saved === null) throw new Error(`${e.message}; and nothing is cached yet, so the model cannot start offline`);
    return { snapshot: saved, online: false };
  }
}

function sameHeads(a: Record<string, Hash>, b: Record<string, Hash>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

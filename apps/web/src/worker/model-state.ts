import type { Hash } from '@blyan/block';
import { type AttestedSource, type BlockInfo, type Lineage, type ParamIndex, type ProvenHeaders, type RelayClient, RelayError } from '@blyan/client';
import type { TrustCheck } from '../protocol.ts';
import type { BlockCache } from './block-cache.ts';

/** What the worker needs to start without the relay: the last ParamIndex it saw, verified, and the model's size. */
export interface HeadsSnapshot {
  /** The genesis the heads were verified against (a snapshot of another network is never used). */
  pin: Hash;
  params: ParamIndex;
  /** Sum of the payload sizes of every slot's head block (and the meta block). */
  modelBytes: number;
  /** The last lineage check: blocks it verified and how long it took. */
  trust: TrustCheck;
}

const SNAPSHOT_KEY = 'heads';

/**
 * The listed blocks up to the last head of `params` (every ancestor of a head is listed before it),
 * as the lineage check's source; a block the listing lacks is asked for by hash.
 */
async function listedBlocks(client: RelayClient, params: ParamIndex, proven: ProvenHeaders): Promise<{ source: AttestedSource; modelBytes: number }> {
  const wanted = new Set<string>([params.meta, ...Object.values(params.slots)]);
  const listed = new Map<Hash, BlockInfo>();
  let modelBytes = 0;
  for await (const b of client.allBlocks()) {
    listed.set(b.hash, b);
    proven.add([b.header]);
    if (wanted.delete(b.hash)) modelBytes += b.header.payload_size;
    if (wanted.size === 0) break;
  }
  return { source: async (hash) => listed.get(hash) ?? (await client.block(hash)), modelBytes };
}

/**
 * The slot heads to run: fresh from the relay when it answers, each verified back to the pinned
 * genesis by `lineage` before it is saved (TrustError otherwise, and nothing is written), else
 * the last verified snapshot saved in the cache (online false). Throws when neither is there. Files
 * the headers the relay lists in `proven` (the heads' loads then skip their header round trip).
 */
export async function currentHeads(client: RelayClient, cache: BlockCache, lineage: Lineage, previous: HeadsSnapshot | null, proven: ProvenHeaders): Promise<{ snapshot: HeadsSnapshot; online: boolean }> {
  let params: ParamIndex;
  try {
    params = await client.params();
  } catch (e) {
    if (!(e instanceof RelayError) || e.code !== 'unreachable') throw e;
    const saved = previous ?? (await cache.getState<HeadsSnapshot>(SNAPSHOT_KEY)) ?? null;
    if (saved === null || saved.pin !== lineage.pin) throw new Error(`${e.message}; and nothing of genesis ${lineage.pin} is cached yet, so the model cannot start offline`);
    return { snapshot: saved, online: false };
  }
  if (previous !== null && previous.params.meta === params.meta && sameHeads(previous.params.slots, params.slots)) return { snapshot: previous, online: true };
  const { source, modelBytes } = await listedBlocks(client, params, proven);
  const t0 = performance.now();
  const blocks = await lineage.verifyIndex(params, source);
  const snapshot: HeadsSnapshot = { pin: lineage.pin, params, modelBytes, trust: { blocks, ms: performance.now() - t0 } };
  await cache.setState(SNAPSHOT_KEY, snapshot);
  return { snapshot, online: true };
}

function sameHeads(a: Record<string, Hash>, b: Record<string, Hash>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

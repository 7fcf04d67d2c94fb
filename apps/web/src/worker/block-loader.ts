import type { Hash } from '@blyan/block';
import { type DelegationLookup, type RelayClient, loadVerifiedBlock, relayDelegations } from '@blyan/client';
import type { BlockEvent } from '../protocol.ts';
import type { BlockCache } from './block-cache.ts';

export interface LoadedBlock {
  payload: Uint8Array<ArrayBuffer>;
  source: 'network' | 'cache';
}

/**
 * Gets blocks for the model: from the cache when it has them, else from the relay, verified
 * (signature, then every tile against the Merkle root while streaming) before anything keeps
 * them; a block signed by a contributor's session key counts when its SIWE delegation proves out
 * (relayDelegations). Reports each block's progress through `report`. A block that fails verification throws
 * BlockVerificationError and is never cached.
 */
export class BlockLoader {
  /** Network bytes of verified payloads since creation. */
  downloaded = 0;
  private readonly delegated: DelegationLookup;

  constructor(
    private readonly client: RelayClient,
    private readonly cache: BlockCache,
    private readonly report: (e: BlockEvent) => void,
    /** Blocks any slot runs now (the cache evicts others first). */
    private readonly heads: () => ReadonlySet<string>,
  ) {
    this.delegated = relayDelegations(client);
  }

  async load(hash: Hash, slot: string, pinned: ReadonlySet<string>): Promise<LoadedBlock> {
    const cached = await this.cache.get(hash);
    const base = { hash, slot, refetched: 0 };
    if (cached) {
      const n = cached.byteLength;
      this.report({ ...base, source: 'cache', state: 'verified', received: n, total: n, verifiedTiles: 0, tiles: 0 });
      return { payload: cached, source: 'cache' };
    }
    let last = { received: 0, total: 0, verifiedTiles: 0, tiles: 0, refetched: 0 };
    this.report({ ...base, ...last, source: 'network', state: 'loading' });
    try {
      const block = await loadVerifiedBlock(this.client, hash, {
        delegated: this.delegated,
        onProgress: (p) => {
          last = p;
          this.report({ ...base, ...p, source: 'network', state: 'loading' });
        },
      });
      if (block.info.slot !== slot) throw new Error(`block ${hash} is slot ${block.info.slot}, the ParamIndex lists it for ${slot}`);
      this.downloaded += block.payload.byteLength;
      await this.cache.put(hash, slot, block.payload, this.heads(), pinned);
      this.report({ ...base, ...last, source: 'network', state: 'verified' });
      return { payload: block.payload, source: 'network' };
    } catch (e) {
      this.report({ ...base, ...last, source: 'network', state: 'failed' });
      throw e;
    }
  }
}

import type { Hash } from '@blyan/block';
import { type DelegationLookup, type ProvenHeaders, type RelayClient, loadProvenBlock, relayDelegations } from '@blyan/client';
import type { BlockEvent } from '../protocol.ts';
import type { BlockCache } from './block-cache.ts';
import type { PhaseClock } from './phase-clock.ts';

/** The phase a block's download and its tile-by-tile verification share (they overlap while streaming). */
const TRANSFER = 'transfer and verification';

export interface LoadedBlock {
  payload: Uint8Array<ArrayBuffer>;
  source: 'network' | 'cache';
}

/**
 * Gets blocks for the model: from the cache when it has them, else from the relay, verified
 * (signature, then every tile against the Merkle root while streaming) before anything keeps
 * them; a block signed by a contributor's session key counts when its SIWE delegation proves out
 * (relayDelegations). Reports each block's progress through `report`. A block that fails verification throws
 * BlockVerificationError and is never cached. Callers load only heads the lineage check proved
 * (hash, signature, authority): one whose header `proven` holds (filed under its own hash) skips
 * the header's round trip and its second signature check; its payload is fetched at once,
 * verified tile by tile against that header's Merkle root. With a `clock`, its cache reads, transfers (verified
 * while streaming) and cache writes are timed there.
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
    private readonly proven?: ProvenHeaders,
  ) {
    this.delegated = relayDelegations(client);
  }

  async load(hash: Hash, slot: string, pinned: ReadonlySet<string>, clock?: PhaseClock): Promise<LoadedBlock> {
    const time = <T>(phase: string, f: () => Promise<T>): Promise<T> => (clock ? clock.time(phase, f) : f());
    const cached = await time('IndexedDB read', () => this.cache.get(hash));
    const base = { hash, slot, refetched: 0 };
    if (cached) {
      const n = cached.byteLength;
      this.report({ ...base, source: 'cache', state: 'verified', received: n, total: n, verifiedTiles: 0, tiles: 0 });
      return { payload: cached, source: 'cache' };
    }
    let last = { received: 0, total: 0, verifiedTiles: 0, tiles: 0, refetched: 0 };
    this.report({ ...base, ...last, source: 'network', state: 'loading' });
    try {
      const onProgress = (p: typeof last) => {
        last = p;
        this.report({ ...base, ...p, source: 'network', state: 'loading' });
      };
      const block = await time(TRANSFER, () => loadProvenBlock(this.client, hash, this.proven?.get(hash), { delegated: this.delegated, onProgress }));
      if (block.slot !== slot) throw new Error(`block ${hash} is slot ${block.slot}, the ParamIndex lists it for ${slot}`);
      this.downloaded += block.payload.byteLength;
      await time('cache put', () => this.cache.put(hash, slot, block.payload, this.heads(), pinned));
      this.report({ ...base, ...last, source: 'network', state: 'verified' });
      return { payload: block.payload, source: 'network' };
    } catch (e) {
      this.report({ ...base, ...last, source: 'network', state: 'failed' });
      throw e;
    }
  }
}

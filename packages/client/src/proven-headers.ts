import { type BlockHeader, type Hash, blockHash, parseHeader } from '@blyan/block';

/**
 * Block headers filed under their own hash (the genesis headers the build ships, those the relay
 * listed for the lineage check), so that loading a head the lineage check proved skips the
 * header's round trip: a header found here for a hash is that block's header, whatever it came
 * with; anything else (malformed, or asked for by another hash) is never returned.
 */
export class ProvenHeaders {
  private readonly byHash = new Map<Hash, BlockHeader>();

  add(headers: Iterable<unknown>): void {
    for (const x of headers) {
      let header: BlockHeader;
      try {
        header = parseHeader(x);
      } catch {
        continue;
      }
      this.byHash.set(blockHash(header), header);
    }
  }

  get(hash: Hash): BlockHeader | undefined {
    return this.byHash.get(hash);
  }
}

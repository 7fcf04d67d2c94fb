import { type BlockHeader, type Hash, equalBytes, merkleRootOfLeaves, tileCount, tileRange, verifyTile } from '@blyan/block';
import { BlockVerificationError } from './errors.ts';
import { leafHashAsync } from './leaf-hash.ts';
import type { RelayClient } from './relay-client.ts';

export interface PayloadProgress {
  received: number;
  total: number;
  /** Tiles checked against the Merkle root so far, of `tiles`. */
  verifiedTiles: number;
  tiles: number;
  /** Tiles that failed and were fetched again with their audit path. */
  refetched: number;
}

export interface PayloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: PayloadProgress) => void;
}

/**
 * Streams a block's payload and checks each tile against the header's Merkle root as soon as its
 * last byte arrives: first the relay's leaf list must rebuild `merkle_root`, then every tile must
 * hash to its leaf. A tile that does not (or never arrives) is fetched once more alone, with its
 * audit path, and checked with verifyTile; if that fails too, BlockVerificationError names the
 * block. The returned bytes (a fresh, 8-byte-aligned ArrayBuffer) all match the root.
 */
export async function fetchVerifiedPayload(client: RelayClient, hash: Hash, header: BlockHeader, options: PayloadOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const { payload_size: size, tile_size: tileSize, merkle_root: root } = header;
  const fail = (reason: string) => new BlockVerificationError(hash, header.name, reason);
  const tiles = tileCount(size, tileSize);
  // The payload is asked for with the leaf list (one round trip, not two); no byte of it is used before the list proves out.
  const body = client.payload(hash, options.signal);
  // Awaited only after the list proves out: a handler now keeps a request that fails meanwhile from being an unhandled rejection.
  body.catch(() => undefined);
  let leaves: Uint8Array[];
  try {
    leaves = await client.leaves(hash);
    if (leaves.length !== tiles) throw fail(`the relay lists ${leaves.length} tile hashes; ${size} bytes in ${tileSize}-byte tiles make ${tiles}`);
    if (merkleRootOfLeaves(leaves) !== root) throw fail('the tile hashes the relay lists do not rebuild merkle_root');
  } catch (e) {
    body.then((r) => r.body?.cancel(), () => undefined);
    throw e;
  }

  const out = new Uint8Array(size);
  const state: PayloadProgress = { received: 0, total: size, verifiedTiles: 0, tiles, refetched: 0 };
  const report = () => options.onProgress?.({ ...state });

  const checkTile = async (i: number): Promise<void> => {
    const [start, end] = tileRange(i, size, tileSize);
    if (!equalBytes(await leafHashAsync(out.subarray(start, end)), leaves[i]!)) {
      state.refetched++;
      const t = await client.tile(hash, i, options.signal);
      if (t.bytes.length !== end - start || !verifyTile(root, tiles, i, t.bytes, t.proof)) {
        throw fail(`tile ${i} of ${tiles} does not match merkle_root, even after fetching it again`);
      }
      out.set(t.bytes, start);
    }
    state.verifiedTiles++;
  };

  const res = await body;
  if (!res.body) throw fail('the relay sent no payload body');
  const reader = res.body.getReader();
  let next = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (state.received + value.length > size) throw fail(`the relay sent more than the header's ${size} bytes`);
      out.set(value, state.received);
      state.received += value.length;
      while (next < tiles && Math.min((next + 1) * tileSize, size) <= state.received) await checkTile(next++);
      report();
    }
  } finally {
    reader.releaseLock();
  }
  if (next < tiles) {
    // The stream ended early: every tile it did not complete is fetched alone with its proof.
    while (next < tiles) await checkTile(next++);
    report();
  }
  return out;
}

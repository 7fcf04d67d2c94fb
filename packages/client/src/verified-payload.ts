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
 * Streams a block's payload in one request, hashing each tile as soon as its last byte arrives;
 * the tile hashes must rebuild the header's `merkle_root`, and no byte is returned before they do.
 * When they do not (a bad or missing tile), the relay's leaf list, which must rebuild the root
 * itself, names the tiles that differ, and each is fetched once more alone, with its audit path,
 * and checked with verifyTile; if that fails too, BlockVerificationError names the block. The
 * returned bytes (a fresh, 8-byte-aligned ArrayBuffer) all match the root.
 */
export async function fetchVerifiedPayload(client: RelayClient, hash: Hash, header: BlockHeader, options: PayloadOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const { payload_size: size, tile_size: tileSize, merkle_root: root } = header;
  const fail = (reason: string) => new BlockVerificationError(hash, header.name, reason);
  const tiles = tileCount(size, tileSize);
  const out = new Uint8Array(size);
  const state: PayloadProgress = { received: 0, total: size, verifiedTiles: 0, tiles, refetched: 0 };
  const report = () => options.onProgress?.({ ...state });

  const res = await client.payload(hash, options.signal);
  if (!res.body) throw fail('the relay sent no payload body');
  // Each tile's hash starts as its last byte arrives, without waiting for the one before (WebCrypto hashes them side by side).
  const hashing: Promise<Uint8Array>[] = [];
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (state.received + value.length > size) throw fail(`the relay sent more than the header's ${size} bytes`);
      out.set(value, state.received);
      state.received += value.length;
      while (hashing.length < tiles && Math.min((hashing.length + 1) * tileSize, size) <= state.received) {
        const [start, end] = tileRange(hashing.length, size, tileSize);
        hashing.push(leafHashAsync(out.subarray(start, end)));
      }
      report();
    }
  } finally {
    reader.releaseLock();
  }
  const hashed = await Promise.all(hashing);
  if (hashed.length < tiles || merkleRootOfLeaves(hashed) !== root) await repairTiles(client, hash, header, out, hashed, state, options.signal, fail);
  state.verifiedTiles = tiles;
  report();
  return out;
}

/**
 * Puts right the tiles of `out` whose hashes (`hashed`, shorter when the stream ended early) do
 * not rebuild the root: the relay's leaf list must rebuild it, and every tile that differs from
 * its leaf (or never arrived) is fetched alone with its audit path and checked with verifyTile.
 */
async function repairTiles(
  client: RelayClient,
  hash: Hash,
  header: BlockHeader,
  out: Uint8Array,
  hashed: readonly Uint8Array[],
  state: PayloadProgress,
  signal: AbortSignal | undefined,
  fail: (reason: string) => BlockVerificationError,
): Promise<void> {
  const { payload_size: size, tile_size: tileSize, merkle_root: root } = header;
  const tiles = state.tiles;
  const leaves = await client.leaves(hash);
  if (leaves.length !== tiles) throw fail(`the relay lists ${leaves.length} tile hashes; ${size} bytes in ${tileSize}-byte tiles make ${tiles}`);
  if (merkleRootOfLeaves(leaves) !== root) throw fail('the tile hashes the relay lists do not rebuild merkle_root');
  for (let i = 0; i < tiles; i++) {
    if (i < hashed.length && equalBytes(hashed[i]!, leaves[i]!)) continue;
    const [start, end] = tileRange(i, size, tileSize);
    state.refetched++;
    const t = await client.tile(hash, i, signal);
    if (t.bytes.length !== end - start || !verifyTile(root, tiles, i, t.bytes, t.proof)) {
      throw fail(`tile ${i} of ${tiles} does not match merkle_root, even after fetching it again`);
    }
    out.set(t.bytes, start);
  }
}

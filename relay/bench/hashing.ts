import { randomBytes } from 'node:crypto';
import { type Hash, merkleRoot, tileLeaves, tileProof, toHash, verifyPayload, verifyTile } from '@blyan/block';
import { sha256 as nodeSha256 } from '../../packages/block/src/sha256-node.ts';
import { sha256 as nobleSha256 } from '../../packages/block/src/sha256-noble.ts';
import { MiB, mbps, time } from './timing.ts';

const TILE = 64 * 1024;

/** RFC 9162 Merkle root with an injected SHA-256 (same tree as @blyan/block's merkleRoot). */
function merkleRootWith(sha: (...p: Uint8Array[]) => Uint8Array, payload: Uint8Array): Hash {
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < payload.length; i += TILE) leaves.push(sha(new Uint8Array([0]), payload.subarray(i, i + TILE)));
  const root = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leaves[lo]!;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return sha(new Uint8Array([1]), root(lo, lo + k), root(lo + k, hi));
  };
  return toHash(root(0, leaves.length));
}

/** Hashing and Merkle throughput on a 16 MiB payload, native against @noble/hashes. */
export async function hashing(): Promise<string[][]> {
  const payload = new Uint8Array(randomBytes(16 * MiB));
  const root = merkleRoot(payload, TILE);
  if (merkleRootWith(nobleSha256, payload) !== root || merkleRootWith(nodeSha256, payload) !== root) throw new Error('Merkle roots disagree');
  const leaves = tileLeaves(payload, TILE);
  const proofs = leaves.map((_, i) => tileProof(leaves, i));
  const header = { payload_size: payload.length, payload_hash: toHash(nodeSha256(payload)), merkle_root: root, tile_size: TILE } as Parameters<typeof verifyPayload>[0];
  const rows: [string, number, number][] = [];
  const add = async (what: string, fn: () => unknown, runs?: number) => rows.push([what, payload.length, await time(fn, runs)]);
  await add('SHA-256 of the payload, node:crypto', () => nodeSha256(payload));
  await add('SHA-256 of the payload, @noble/hashes', () => nobleSha256(payload), 3);
  await add('Merkle root (64 KiB tiles), node:crypto', () => merkleRoot(payload, TILE));
  await add('Merkle root (64 KiB tiles), @noble/hashes', () => merkleRootWith(nobleSha256, payload), 3);
  await add('verifyPayload: size + SHA-256 + Merkle root', () => {
    if (!verifyPayload(header, payload).ok) throw new Error('payload does not verify');
  });
  await add('verifyTile on all 256 tiles with their proofs', () => {
    for (let i = 0; i < leaves.length; i++) {
      if (!verifyTile(root, leaves.length, i, payload.subarray(i * TILE, (i + 1) * TILE), proofs[i]!)) throw new Error(`tile ${i}`);
    }
  });
  const nobleRoot = rows[3]![2];
  const nodeRoot = rows[2]![2];
  return [
    ...rows.map(([what, bytes, secs]) => [what, `${(secs * 1000).toFixed(1)} ms`, mbps(bytes, secs)]),
    ['node:crypto / @noble/hashes (Merkle root)', '', `${(nobleRoot / nodeRoot).toFixed(1)}x`],
  ];
}


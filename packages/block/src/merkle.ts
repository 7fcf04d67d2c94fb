import { sha256 } from '#sha256';
import { type Hash, hashBytes, toHash } from './hex.ts';

/**
 * Tile Merkle tree: the payload is cut into `tileSize`-byte tiles (the last one may be short) and
 * hashed as an RFC 9162 (Certificate Transparency v2) Merkle tree: leaf = SHA-256(0x00 || tile),
 * node = SHA-256(0x01 || left || right), split at the largest power of two below n. The 0x00/0x01
 * prefixes keep a leaf from posing as a node. An empty payload has root SHA-256("").
 */
const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function tileCount(payloadSize: number, tileSize: number): number {
  return Math.ceil(payloadSize / tileSize);
}

export function tileRange(index: number, payloadSize: number, tileSize: number): [number, number] {
  const start = index * tileSize;
  if (index < 0 || !Number.isInteger(index) || start >= payloadSize) {
    throw new RangeError(`tile ${index} is out of range for ${payloadSize} bytes`);
  }
  return [start, Math.min(start + tileSize, payloadSize)];
}

export function leafHash(tile: Uint8Array): Uint8Array {
  return sha256(LEAF, tile);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right);
}

/** Leaf hashes of every tile, in order. */
export function tileLeaves(payload: Uint8Array, tileSize: number): Uint8Array[] {
  const n = tileCount(payload.length, tileSize);
  const leaves: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) leaves[i] = leafHash(payload.subarray(i * tileSize, (i + 1) * tileSize));
  return leaves;
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function subtreeRoot(leaves: Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return leaves[lo]!;
  const k = splitPoint(hi - lo);
  return nodeHash(subtreeRoot(leaves, lo, lo + k), subtreeRoot(leaves, lo + k, hi));
}

export function merkleRootOfLeaves(leaves: Uint8Array[]): Hash {
  return toHash(leaves.length === 0 ? sha256() : subtreeRoot(leaves, 0, leaves.length));
}

export function merkleRoot(payload: Uint8Array, tileSize: number): Hash {
  return merkleRootOfLeaves(tileLeaves(payload, tileSize));
}

/** The audit path of tile `index`: sibling subtree roots from the leaf up to the root. */
export function tileProof(leaves: Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`tile ${index} is out of range for ${leaves.length} tiles`);
  }
  const path: Uint8Array[] = [];
  let lo = 0;
  let hi = leaves.length;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      path.push(subtreeRoot(leaves, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(subtreeRoot(leaves, lo, lo + k));
      lo += k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.3.2: does `tile` sit at `index` of a `count`-tile tree with this root? */
export function verifyTile(root: Hash, count: number, index: number, tile: Uint8Array, proof: Uint8Array[]): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= count) return false;
  let fn = index;
  let sn = count - 1;
  let r = leafHash(tile);
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && equalBytes(r, hashBytes(root));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

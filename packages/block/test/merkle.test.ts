import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../src/sha256-node.ts';
import { sha256 as nobleSha256 } from '../src/sha256-noble.ts';
import { toHash } from '../src/hex.ts';
import { merkleRoot, merkleRootOfLeaves, tileCount, tileLeaves, tileProof, verifyTile } from '../src/merkle.ts';

const TILE = 4096;

/** RFC 9162 MTH written straight from its recursive definition, as an independent oracle. */
function mth(tiles: Uint8Array[]): Uint8Array {
  if (tiles.length === 0) return sha256();
  if (tiles.length === 1) return sha256(new Uint8Array([0]), tiles[0]!);
  let k = 1;
  while (k * 2 < tiles.length) k *= 2;
  return sha256(new Uint8Array([1]), mth(tiles.slice(0, k)), mth(tiles.slice(k)));
}

/** Distinct bytes in every tile (xorshift32), so no two tiles can stand in for each other. */
function payloadOf(size: number, seed: number): Uint8Array {
  let x = seed * 2654435761 + 1;
  return Uint8Array.from({ length: size }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}

const flip = (b: Uint8Array, bit: number) => {
  const c = b.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};

describe('tile Merkle tree', () => {
  it('matches the RFC 9162 definition for 0..40 tiles', () => {
    for (let n = 0; n <= 40; n++) {
      const payload = payloadOf(n * TILE - (n > 0 ? 7 : 0), n);
      const tiles = Array.from({ length: tileCount(payload.length, TILE) }, (_, i) => payload.subarray(i * TILE, (i + 1) * TILE));
      expect(merkleRoot(payload, TILE)).toBe(toHash(mth(tiles)));
    }
  });

  it('node and browser SHA-256 agree', () => {
    const b = payloadOf(100_000, 3);
    expect(toHash(nobleSha256(b.subarray(0, 10), b.subarray(10)))).toBe(toHash(sha256(b)));
  });

  it('every tile verifies with its proof and fails at any other index', () => {
    for (const n of [1, 2, 3, 5, 8, 13, 33]) {
      const payload = payloadOf(n * TILE, n);
      const leaves = tileLeaves(payload, TILE);
      const root = merkleRootOfLeaves(leaves);
      for (let i = 0; i < n; i++) {
        const tile = payload.subarray(i * TILE, (i + 1) * TILE);
        const proof = tileProof(leaves, i);
        expect(verifyTile(root, n, i, tile, proof)).toBe(true);
        if (n > 1) expect(verifyTile(root, n, (i + 1) % n, tile, proof)).toBe(false);
      }
    }
  });

  it('any single flipped bit in a tile or its proof is detected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }), fc.nat(), fc.nat(), fc.boolean(), (n, iRaw, bitRaw, inProof) => {
        const payload = payloadOf(n * TILE - 100, n);
        const leaves = tileLeaves(payload, TILE);
        const root = merkleRootOfLeaves(leaves);
        const i = iRaw % n;
        const tile = payload.subarray(i * TILE, (i + 1) * TILE);
        const proof = tileProof(leaves, i);
        if (inProof) {
          const p = bitRaw % proof.length;
          const bad = proof.map((x, j) => (j === p ? flip(x, bitRaw % 256) : x));
          expect(verifyTile(root, n, i, tile, bad)).toBe(false);
        } else {
          expect(verifyTile(root, n, i, flip(tile, bitRaw % (tile.length * 8)), proof)).toBe(false);
          expect(merkleRoot(flip(payload, bitRaw % (payload.length * 8)), TILE)).not.toBe(root);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses proofs that are too short, too long or out of range', () => {
    const payload = payloadOf(5 * TILE, 1);
    const leaves = tileLeaves(payload, TILE);
    const root = merkleRootOfLeaves(leaves);
    const tile = payload.subarray(0, TILE);
    const proof = tileProof(leaves, 0);
    expect(verifyTile(root, 5, 0, tile, proof.slice(1))).toBe(false);
    expect(verifyTile(root, 5, 0, tile, [...proof, proof[0]!])).toBe(false);
    expect(verifyTile(root, 5, -1, tile, proof)).toBe(false);
    expect(() => tileProof(leaves, 5)).toThrow(RangeError);
  });
});

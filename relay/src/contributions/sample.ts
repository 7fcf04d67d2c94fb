import { createHash, randomBytes } from 'node:crypto';
import { type Hash, hashBytes, toHash } from '@blyan/block';
import { sampleCommitment } from '@blyan/chain';
import type { Window } from '@blyan/model/eval';

/** The sample of one evaluation: a fresh random seed, and its SHA-256, published before judging. */
export interface Sample {
  readonly seed: Hash;
  readonly commitment: Hash;
}

export function freshSample(): Sample {
  const seed = toHash(randomBytes(32));
  return { seed, commitment: sampleCommitment(seed) };
}

/**
 * `count` windows of `length` inputs drawn from a stream of `streamLength` tokens by `seed`: window
 * i starts at SHA-256(seed ‖ u32be(i)), its first 8 bytes modulo the number of possible starts.
 * Anyone holding the stream and the revealed seed draws the same windows.
 */
export function drawWindows(seed: Hash, streamLength: number, length: number, count: number): Window[] {
  const starts = streamLength - length;
  if (length < 1 || starts < 1) throw new Error(`a stream of ${streamLength} tokens holds no window of ${length} inputs and their targets`);
  const key = hashBytes(seed);
  return Array.from({ length: count }, (_, i) => {
    const index = Buffer.alloc(4);
    index.writeUInt32BE(i);
    const draw = createHash('sha256').update(key).update(index).digest().readBigUInt64BE(0);
    return { start: Number(draw % BigInt(starts)), scoreFrom: 0 };
  });
}

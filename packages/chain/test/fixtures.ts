import type { Hash } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { type Verdict, sampleCommitment } from '../src/verdict.ts';

/** The evaluator key of the chain tests. */
export const judge = privateKeyToAccount('0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba');

/** An accepted verdict by `judge` on `what`, with fixed figures and a sample drawn from `seed`. */
export function acceptedVerdict(what: Pick<Verdict, 'block' | 'slot' | 'base' | 'meta'>, seed: Hash): Verdict {
  return {
    v: 1,
    ...what,
    accepted: true,
    baseline: 3.709,
    candidate: 3.7,
    tokens: 4096,
    sample: { commitment: sampleCommitment(seed), seed },
    evaluator: judge.address.toLowerCase() as `0x${string}`,
    judged_at: 1_700_000_000_000,
  };
}

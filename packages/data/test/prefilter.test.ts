import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type DocVerdict, MemoryNearIndex, type Known, docHash, prefilter, signature, splitDocuments } from '../src/index.ts';
import { bytesOf, prose, uploadOf } from './fixtures.ts';

const codes = (v: readonly DocVerdict[]) => v.map((d) => (d.ok ? 'ok' : d.code));
const one = (raw: Uint8Array, known?: Known) => prefilter([raw], known)[0]!;

describe('L0 prefilter: attacks each refused with its reason', () => {
  it('accepts plain prose and addresses it by the SHA-256 of its text', () => {
    const v = one(bytesOf(prose(1)));
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.sha256).toBe(docHash(prose(1)));
  });

  it('invalid UTF-8: a lone continuation byte and an overlong encoding', () => {
    const good = bytesOf(prose(2));
    for (const bad of [[0x80], [0xc0, 0xaf]]) {
      const v = one(Uint8Array.from([...good, ...bad, ...good]));
      expect(v).toMatchObject({ ok: false, code: 'invalid_utf8', message: expect.stringContaining('UTF-8') });
    }
  });

  it('binary: NUL bytes and control characters', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, ...bytesOf(prose(3))]);
    expect(one(png)).toMatchObject({ ok: false, code: 'invalid_utf8' });
    expect(one(bytesOf(`${prose(3)}\u0000\u0001\u0002${prose(4)}`))).toMatchObject({ ok: false, code: 'binary' });
  });

  it('length bounds, near-empty, few letters', () => {
    expect(one(bytesOf('short text'))).toMatchObject({ ok: false, code: 'too_short' });
    expect(one(bytesOf(prose(5, 10_000)))).toMatchObject({ ok: false, code: 'too_long' });
    expect(one(bytesOf('hello hello hello hello hello hello hello hello hello hello hello hello'))).toMatchObject({ ok: false, code: 'near_empty' });
    expect(one(bytesOf(Array.from({ length: 40 }, (_, i) => `${i * 7919} ${i * 104729}; 3.14159 ${i}`).join(' ') + ' a b c d e f g h'))).toMatchObject({ ok: false, code: 'few_letters' });
  });

  it('a document that is one repeated line', () => {
    const spam = Array.from({ length: 30 }, () => 'BUY CHEAP WATCHES NOW AT THE BEST PRICE EVER OFFERED').join('\n');
    expect(one(bytesOf(`${prose(6)}\n${spam}`))).toMatchObject({ ok: false, code: 'repeated_line' });
  });

  it('a PII-laden document is refused; a little PII is redacted', () => {
    const contacts = Array.from({ length: 12 }, (_, i) => `Write to person${i}@example.com or call +1 415 555 01${10 + i}.`).join('\n');
    expect(one(bytesOf(`${prose(7, 2)}\n${contacts}`))).toMatchObject({ ok: false, code: 'pii' });
    const v = one(bytesOf(`${prose(8, 12)} Questions go to alice@example.org or 020 7946 0958.`));
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.redacted).toEqual({ emails: 1, phones: 1 });
      expect(v.text).not.toContain('alice@example.org');
      expect(v.text).not.toContain('7946');
      expect(v.text).toContain('<email>');
    }
  });

  it('secret-looking keys and tokens refuse the document', () => {
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'ghp_' + 'a'.repeat(36), '-----BEGIN RSA PRIVATE KEY-----', 'api_key = "Zx81kLm02PqR77sT"']) {
      expect(one(bytesOf(`${prose(9)} ${secret} ${prose(10)}`))).toMatchObject({ ok: false, code: 'secret' });
    }
  });

  it('an exact and a near duplicate, within the upload and against the chain', () => {
    const base = prose(11, 12);
    const near = base.replace('number 341.', 'number 342.');
    expect(codes(prefilter(splitDocuments(uploadOf([base, prose(12), base, near]))))).toEqual(['ok', 'ok', 'duplicate', 'near_duplicate']);
    const index = new MemoryNearIndex();
    index.add(docHash(base), signature(base));
    const known: Known = { has: (h) => h === docHash(base), near: index };
    expect(one(bytesOf(base), known)).toMatchObject({ ok: false, code: 'duplicate', message: expect.stringContaining('data hub') });
    expect(one(bytesOf(near), known)).toMatchObject({ ok: false, code: 'near_duplicate', message: expect.stringContaining('data hub') });
  });

  it('every refusal carries a message', () => {
    const v = prefilter([bytesOf(''), Uint8Array.from([0xff])]);
    for (const d of v) expect(!d.ok && d.message.length > 10).toBe(true);
    expect(DEFAULT_LIMITS.nearDuplicate).toBe(0.8);
  });
});

import fc from 'fast-check';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { buildBlock, verifyPayload } from '../src/block.ts';
import { type BlockHeader, HeaderError, blockHash, encodeHeader, parseHeader } from '../src/header.ts';
import { verifySignature } from '../src/signature.ts';
import { decodeBlock, encodeBlock } from '../src/wire.ts';

const alice = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const bob = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');
const hashA = 'a'.repeat(64);
const CANONICAL =
  '{"author":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","chain":"B","created_at":1700000000000,"depends_on":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],"index":3,"merkle_root":"601713a08313aa7c0a0b8eb53a3cdddcd9fcbfeaa9e7a0e064666f2bce5568cf","meta":{"encoding":"tensors-v1","lr":0.001,"note":"ünïcödé"},"name":"layer2.expert5","payload_hash":"3421d9aa928a94decb191ab8e8b76c1d8434bf602c5b3ba10ad42f54c8199c34","payload_size":10000,"prev":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","tile_size":4096,"type":"expert","v":1}';

async function sample(payload = new Uint8Array(10_000).map((_, i) => i)): Promise<{ header: BlockHeader; payload: Uint8Array }> {
  return buildBlock(
    { type: 'expert', index: 3, name: 'layer2.expert5', depends_on: [hashA as never], prev: hashA as never, payload, tile_size: 4096, created_at: 1_700_000_000_000, meta: { encoding: 'tensors-v1', note: 'ünïcödé', lr: 0.001 } },
    alice,
  );
}

function shuffleKeys(x: unknown, seed: number): unknown {
  if (Array.isArray(x)) return x.map((v) => shuffleKeys(v, seed));
  if (typeof x !== 'object' || x === null) return x;
  const entries = Object.entries(x);
  entries.sort((a, b) => ((a[0].charCodeAt(0) * seed) % 7) - ((b[0].charCodeAt(0) * seed) % 7) || b[0].localeCompare(a[0]));
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, seed)]));
}

describe('block header', () => {
  it('hashes a fixed header to a fixed value (format v1 test vector)', async () => {
    const { header } = await sample();
    expect(new TextDecoder().decode(encodeHeader(header))).toBe(CANONICAL);
    // `printf '%s' "$CANONICAL" | sha256sum`
    expect(blockHash(header)).toBe('2703da7dc6eedb586f02708652749936e70611dd00b567cf316e523e7cc1fe5f');
  });

  it('hash is independent of key order', async () => {
    const { header } = await sample();
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
      expect(blockHash(shuffleKeys(header, seed) as BlockHeader)).toBe(blockHash(header));
    }));
  });

  it('signature recovers the author; a delegated session key is accepted only when the check says so', async () => {
    const { header } = await sample();
    expect(await verifySignature(header)).toEqual({ ok: true, signer: alice.address.toLowerCase(), delegated: false });
    const bySession = await buildBlock({ type: 'expert', index: 0, name: 'x', depends_on: [], prev: null, payload: new Uint8Array(1), meta: { encoding: 'tensors-v1' } }, bob, alice.address);
    expect((await verifySignature(bySession.header)).ok).toBe(false);
    const v = await verifySignature(bySession.header, (author, signer) => author === alice.address.toLowerCase() && signer === bob.address.toLowerCase());
    expect(v).toEqual({ ok: true, signer: bob.address.toLowerCase(), delegated: true });
  });

  it('any single flipped bit in the canonical header changes the hash and breaks the signature', async () => {
    const { header } = await sample();
    const bytes = encodeHeader(header);
    await fc.assert(fc.asyncProperty(fc.nat(bytes.length * 8 - 1), async (bit) => {
      const text = bytes.slice();
      text[bit >> 3]! ^= 1 << (bit & 7);
      let tampered: BlockHeader;
      try {
        tampered = parseHeader({ ...JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(text)), sig: header.sig });
      } catch {
        return;
      }
      expect(blockHash(tampered)).not.toBe(blockHash(header));
      expect((await verifySignature(tampered)).ok).toBe(false);
    }), { numRuns: 150 });
  });

  it('any flipped bit in the signature is refused', async () => {
    const { header } = await sample();
    for (let i = 2; i < header.sig.length; i += 9) {
      const c = header.sig[i]!;
      const sig = (header.sig.slice(0, i) + (c === '0' ? '1' : '0') + header.sig.slice(i + 1)) as `0x${string}`;
      expect((await verifySignature({ ...header, sig })).ok).toBe(false);
    }
  });

  it('any flipped payload bit fails payload verification', async () => {
    const b = await sample();
    expect(verifyPayload(b.header, b.payload)).toEqual({ ok: true });
    fc.assert(fc.property(fc.nat(b.payload.length * 8 - 1), (bit) => {
      const p = b.payload.slice();
      p[bit >> 3]! ^= 1 << (bit & 7);
      expect(verifyPayload(b.header, p)).toMatchObject({ ok: false, code: 'payload_hash_mismatch' });
    }));
    expect(verifyPayload(b.header, b.payload.subarray(1))).toMatchObject({ ok: false, code: 'payload_size_mismatch' });
  });

  it('wire encoding round-trips and rejects malformed bodies clearly', async () => {
    const b = await sample();
    const wire = encodeBlock(b);
    const back = decodeBlock(wire);
    expect(back.header).toEqual(b.header);
    expect(back.payload).toEqual(b.payload);
    expect(() => decodeBlock(wire.subarray(0, 3))).toThrow(HeaderError);
    expect(() => decodeBlock(wire.subarray(0, 50))).toThrow(/runs past/);
    const junk = wire.slice();
    junk[5] = 0x7b;
    expect(() => decodeBlock(junk)).toThrow(/not valid JSON/);
  });

  it('parseHeader names what is wrong', async () => {
    const { header } = await sample();
    const bad = (patch: Record<string, unknown>) => () => parseHeader({ ...header, ...patch });
    expect(bad({ chain: 'A' })).toThrow(/belongs on chain B/);
    expect(bad({ index: -1 })).toThrow(/index/);
    expect(bad({ depends_on: ['zz'] })).toThrow(/depends_on/);
    expect(bad({ depends_on: [hashA, hashA] })).toThrow(/twice/);
    expect(bad({ tile_size: 5000 })).toThrow(/power of two/);
    expect(bad({ author: alice.address })).toThrow(/lowercase/);
    expect(bad({ meta: { encoding: 'raw' } })).toThrow(/tensors-v1/);
    expect(bad({ meta: { encoding: 'tensors-v1', x: NaN } })).toThrow(/finite/);
    expect(bad({ extra: 1 })).toThrow(/unknown header field extra/);
    expect(bad({ v: 2 })).toThrow(/version 2/);
    const lower = alice.address.toLowerCase();
    const meta = (m: Record<string, unknown>) => () => parseHeader({ ...header, type: 'meta', chain: 'A', meta: { arch: 'x', slots: [], authorities: [lower], evaluators: [], ...m } });
    expect(meta({ slots: [{ name: 'a', type: 'expert' }, { name: 'a', type: 'expert' }] })).toThrow(/declared twice/);
    expect(meta({})).not.toThrow();
    expect(meta({ authorities: null })).toThrow(/meta.authorities must be an array/);
    expect(meta({ authorities: [] })).toThrow(/at least one authority/);
    expect(meta({ authorities: [alice.address] })).toThrow(/meta.authorities must be an array of lowercase/);
    expect(meta({ evaluators: [lower, lower] })).toThrow(/meta.evaluators lists an address twice/);
    expect(meta({ evaluators: 'nobody' })).toThrow(/meta.evaluators must be an array/);
    const { sig: _, ...unsigned } = header;
    expect(() => parseHeader(unsigned)).toThrow(/sig/);
  });
});

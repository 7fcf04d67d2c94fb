import { privateKeyToAccount } from 'viem/accounts';
import { signHeader } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockVerificationError, type PayloadProgress, fetchVerifiedPayload, loadVerifiedBlock, verifyHeader } from '../src/index.ts';
import { BIG_SIZE, type TestRelay, editBody, flipByte, testRelay } from './relay.ts';

let r: TestRelay;
beforeAll(async () => {
  r = await testRelay();
});
afterAll(() => r.close());

const payloadPath = () => `/v1/blocks/${r.bigHash}/payload`;
const tilePath = (i: number) => `/v1/blocks/${r.bigHash}/tiles/${i}`;

describe('fetchVerifiedPayload', () => {
  it('streams a multi-tile payload in one request, its tile hashes rebuilding the Merkle root', async () => {
    r.requests.length = 0;
    const seen: PayloadProgress[] = [];
    const bytes = await fetchVerifiedPayload(r.client(), r.bigHash, r.big.header, { onProgress: (p) => seen.push(p) });
    expect(bytes).toEqual(r.big.payload);
    expect(bytes.byteOffset % 8).toBe(0);
    expect(seen.at(-1)).toEqual({ received: BIG_SIZE, total: BIG_SIZE, verifiedTiles: 6, tiles: 6, refetched: 0 });
    // No leaf list: the tiles' own hashes rebuild the root (one request per block).
    expect(r.requests).toEqual([payloadPath()]);
    // Nothing counts as verified before the root is rebuilt.
    expect(seen.slice(0, -1).every((p) => p.verifiedTiles === 0)).toBe(true);
  });

  it('re-fetches a tampered tile once with its proof and returns the true bytes', async () => {
    r.requests.length = 0;
    const c = r.client((path, res) => (path === payloadPath() ? editBody(res, flipByte(4096 * 2 + 10)) : res));
    const seen: PayloadProgress[] = [];
    const bytes = await fetchVerifiedPayload(c, r.bigHash, r.big.header, { onProgress: (p) => seen.push(p) });
    expect(bytes).toEqual(r.big.payload);
    expect(seen.at(-1)?.refetched).toBe(1);
    expect(r.requests.filter((p) => p.includes('/tiles/'))).toEqual([tilePath(2)]);
  });

  it('names the block when the re-fetched tile is bad too, after exactly one re-fetch', async () => {
    r.requests.length = 0;
    const c = r.client((path, res) => (path === payloadPath() || path === tilePath(3) ? editBody(res, flipByte(path === tilePath(3) ? 0 : 4096 * 3)) : res));
    const e = await fetchVerifiedPayload(c, r.bigHash, r.big.header).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BlockVerificationError);
    expect((e as Error).message).toBe(`block layer1.expert2 (${r.bigHash}) failed verification: tile 3 of 6 does not match merkle_root, even after fetching it again`);
    expect(r.requests.filter((p) => p.includes('/tiles/'))).toEqual([tilePath(3)]);
  });

  it('fetches the tiles a truncated stream never delivered', async () => {
    r.requests.length = 0;
    const c = r.client((path, res) => (path === payloadPath() ? editBody(res, (b) => b.slice(0, 4096 + 100)) : res));
    expect(await fetchVerifiedPayload(c, r.bigHash, r.big.header)).toEqual(r.big.payload);
    expect(r.requests.filter((p) => p.includes('/tiles/'))).toEqual([1, 2, 3, 4, 5].map(tilePath));
  });

  it('rejects a stream longer than the header says', async () => {
    const c = r.client((path, res) => (path === payloadPath() ? editBody(res, (b) => new Uint8Array([...b, 0])) : res));
    await expect(fetchVerifiedPayload(c, r.bigHash, r.big.header)).rejects.toThrow(`the relay sent more than the header's ${BIG_SIZE} bytes`);
  });

  it('puts right two whole tiles swapped in the stream (each a true tile, in the wrong place)', async () => {
    r.requests.length = 0;
    const swap = (b: Uint8Array) => {
      const x = b.slice();
      x.set(b.subarray(4096, 8192), 0);
      x.set(b.subarray(0, 4096), 4096);
      return x;
    };
    const c = r.client((path, res) => (path === payloadPath() ? editBody(res, swap) : res));
    expect(await fetchVerifiedPayload(c, r.bigHash, r.big.header)).toEqual(r.big.payload);
    expect(r.requests.filter((p) => p.includes('/tiles/'))).toEqual([tilePath(0), tilePath(1)]);
  });

  it('rejects a leaf list that does not rebuild the Merkle root (asked for when a tile is bad)', async () => {
    const c = r.client((path, res) => (path.endsWith('/leaves') ? editBody(res, flipByte(0)) : path === payloadPath() ? editBody(res, flipByte(10)) : res));
    await expect(fetchVerifiedPayload(c, r.bigHash, r.big.header)).rejects.toThrow('the tile hashes the relay lists do not rebuild merkle_root');
  });
});

describe('verifyHeader and loadVerifiedBlock', () => {
  it('accepts a header signed by its author and returns the signer', async () => {
    expect(await verifyHeader(r.bigHash, r.big.header)).toBe(r.big.header.author);
    const b = await loadVerifiedBlock(r.client(), r.bigHash);
    expect(b.payload).toEqual(r.big.payload);
    expect(b.signer).toBe(r.big.header.author);
  });

  it('rejects a header signed by someone other than its author', async () => {
    const stranger = privateKeyToAccount('0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba');
    const { sig: _, ...unsigned } = r.big.header;
    const forged = await signHeader(unsigned, stranger);
    const e = await verifyHeader(r.bigHash, forged).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BlockVerificationError);
    expect((e as Error).message).toContain(`signed by ${stranger.address.toLowerCase()}, which is not the author ${r.big.header.author}`);
  });

  it('rejects a header that is not the block asked for', async () => {
    const other = r.f.genesis[2]!;
    await expect(verifyHeader(r.bigHash, other.header)).rejects.toThrow(/failed verification: its header hashes to [0-9a-f]{64}/);
  });
});

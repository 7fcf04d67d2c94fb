import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockVerificationError, ProvenHeaders, loadProvenBlock } from '../src/index.ts';
import { type TestRelay, editBody, flipByte, testRelay } from './relay.ts';

let r: TestRelay;
beforeAll(async () => {
  r = await testRelay();
});
afterAll(() => r.close());

const path = (sub: string) => `/v1/blocks/${r.bigHash}${sub}`;

describe('loadProvenBlock', () => {
  it('with a proven header fetches the payload alone and verifies it against that header', async () => {
    r.requests.length = 0;
    const proven = new ProvenHeaders();
    proven.add([r.big.header]);
    const b = await loadProvenBlock(r.client(), r.bigHash, proven.get(r.bigHash));
    expect(b).toEqual({ header: r.big.header, slot: 'layer1.expert2', payload: r.big.payload });
    expect(r.requests).toEqual([path('/payload')]);
  });

  it('without one fetches the header and checks its signature first', async () => {
    r.requests.length = 0;
    const b = await loadProvenBlock(r.client(), r.bigHash, undefined);
    expect(b).toEqual({ header: r.big.header, slot: 'layer1.expert2', payload: r.big.payload });
    expect(r.requests).toEqual([path(''), path('/payload')]);
  });

  it('refuses a header that is not the block asked for, fetching nothing', async () => {
    r.requests.length = 0;
    const other = r.f.genesis[2]!.header;
    await expect(loadProvenBlock(r.client(), r.bigHash, other)).rejects.toThrow(`the header given for block ${r.bigHash} is block`);
    expect(r.requests).toEqual([]);
  });

  it('still verifies the payload against the proven header: a tile the relay cannot put right fails', async () => {
    const c = r.client((p, res) => (p === path('/payload') || p === path('/tiles/1') ? editBody(res, flipByte(p === path('/payload') ? 4096 + 7 : 0)) : res));
    await expect(loadProvenBlock(c, r.bigHash, r.big.header)).rejects.toBeInstanceOf(BlockVerificationError);
  });

  it('without a proven header refuses a header the relay doctored', async () => {
    const c = r.client((p, res) => (p === path('') ? editBody(res, (b) => new TextEncoder().encode(new TextDecoder().decode(b).replaceAll('"layer1.expert2"', '"layer1.expert3"'))) : res));
    await expect(loadProvenBlock(c, r.bigHash, undefined)).rejects.toThrow(/hashes to/);
  });
});

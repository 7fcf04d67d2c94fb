import { type Block, type Signer, blockHash, buildBlock } from '@blyan/block';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, fixture, genesisAccount, storeState, submit } from '../helpers.ts';

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
});
afterEach(() => f.close());

const stranger = () => privateKeyToAccount(generatePrivateKey());
const text = (s: string) => new TextEncoder().encode(s);

/** A chain D block of dataset `name`: its first version, or the one after `prev`. */
function datasetBlock(name: string, body: string, signer: Signer, prev: Block | null = null): Promise<Block> {
  const p = prev === null ? null : blockHash(prev.header);
  return buildBlock(
    { type: 'dataset', index: prev === null ? 0 : prev.header.index + 1, name, depends_on: p === null ? [f.meta] : [f.meta, p], prev: p, payload: text(body), meta: { encoding: 'text-utf8' } },
    signer,
  );
}

const datasetHeads = async () => ((await (await f.app.request('/v1/heads')).json()) as { chains: { D: { heads: Record<string, string> } } }).chains.D.heads;

describe('attacks on chain D (datasets)', () => {
  it('a fresh key starts a dataset: 403 not_authorized, nothing stored', async () => {
    const before = await storeState(f);
    const r = await submit(f.app, await datasetBlock('web.poison', 'ignore previous instructions', stranger()));
    expect([r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([403, 'not_authorized']);
    expect(await storeState(f)).toEqual(before);
    expect(await datasetHeads()).toEqual({});
  });

  it("a fresh key moves the head of an authority's dataset: 403 not_authorized, the head stays", async () => {
    const seeded = await datasetBlock('books.tiny', 'It was a bright cold day in April.', genesisAccount);
    expect((await submit(f.app, seeded)).status).toBe(201);
    const before = await storeState(f);
    const r = await submit(f.app, await datasetBlock('books.tiny', 'replaced by the attacker', stranger(), seeded));
    expect([r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([403, 'not_authorized']);
    expect(await storeState(f)).toEqual(before);
    expect(await datasetHeads()).toEqual({ 'books.tiny': blockHash(seeded.header) });
  });
});

import 'fake-indexeddb/auto';
import type { Hash } from '@blyan/block';
import { type Fetch, type ParamIndex, RelayClient, TrustError } from '@blyan/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, accountsFixture } from '../../../relay/test/accounts-helpers.ts';
import { type Fixture, fixture } from '../../../relay/test/helpers.ts';
import { FrozenModel } from '../src/contribute/frozen-model.ts';

const SLOT = 'layer0.expert0';
/** A relay app, reached in process. */
type Hono = Fixture['app'];

/** A relay client that reaches `app` in process; `route` may send a path to another app, `edit` may rewrite a JSON answer. */
function client(app: Hono, opts: { route?: (path: string) => Hono | undefined; edit?: Record<string, (body: never) => unknown> } = {}): RelayClient {
  const fetchImpl: Fetch = async (url, init) => {
    const u = new URL(url);
    const res = await (opts.route?.(u.pathname) ?? app).request(u.pathname + u.search, init);
    const edit = opts.edit?.[u.pathname];
    return edit === undefined ? res : Response.json(edit((await res.json()) as never), { status: res.status });
  };
  return new RelayClient('http://relay.test', fetchImpl);
}

async function refusal(p: Promise<unknown>): Promise<TrustError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof TrustError)) throw new Error(`expected a TrustError, got ${String(e)}`);
  return e;
}

describe('the contribute panel trains only on what descends from the pinned genesis', () => {
  let f: AccountsFixture;
  let foreign: Fixture;
  beforeAll(async () => {
    f = await accountsFixture();
    foreign = await fixture();
  });
  afterAll(async () => {
    await f.close();
    await foreign.close();
  });

  it('opens the model of the pinned genesis and proves every head', async () => {
    const model = await FrozenModel.open(client(f.app), f.meta, f.meta);
    expect(model.heads).toEqual(f.slots);
    expect((await model.head(SLOT)).header.name).toBe(SLOT);
  });

  it('with the genesis headers the app shipped, fetches no slot genesis block to prove the heads', async () => {
    const asked = (headers?: unknown[]) => {
      const paths: string[] = [];
      return { paths, open: FrozenModel.open(client(f.app, { route: (path) => void paths.push(path) }), f.meta, f.meta, headers) };
    };
    const genesisSlots = Object.values(f.slots);
    const fetchedGenesis = (paths: string[]) => genesisSlots.filter((h) => paths.some((p) => p.includes(h)));
    const shipped = asked(f.genesis.map((b) => b.header));
    expect((await shipped.open).heads).toEqual(f.slots);
    expect(fetchedGenesis(shipped.paths)).toEqual([]);
    const bare = asked();
    await bare.open;
    expect(fetchedGenesis(bare.paths)).toEqual(genesisSlots);
  });

  it('fetches each block header once: the meta block and a head it proves are loaded with the header the proof verified', async () => {
    const paths: string[] = [];
    const model = await FrozenModel.open(client(f.app, { route: (path) => void paths.push(path) }), f.meta, f.meta);
    await model.head(SLOT);
    await model.head(SLOT);
    const headers = paths.filter((p) => /^\/v1\/blocks\/[0-9a-f]{64}$/.test(p));
    expect(headers).toContain(`/v1/blocks/${f.meta}`);
    expect(headers).toContain(`/v1/blocks/${f.slots[SLOT]}`);
    expect(headers.length).toBe(new Set(headers).size);
  });

  it('refuses a relay serving a validly signed model of another genesis (foreign_genesis), before loading its meta block', async () => {
    expect(foreign.meta).not.toBe(f.meta);
    const e = await refusal(FrozenModel.open(client(foreign.app), foreign.meta, f.meta));
    expect([e.reason, e.hash]).toEqual(['foreign_genesis', foreign.meta]);
  });

  it('refuses a forged index entry: another slot’s block listed as the head it would train', async () => {
    const edit = { '/v1/params': (p: ParamIndex) => ({ ...p, slots: { ...p.slots, [SLOT]: p.slots['layer0.expert1'] } }) };
    const e = await refusal(FrozenModel.open(client(f.app, { edit }), f.meta, f.meta));
    expect([e.reason, e.hash]).toEqual(['broken_lineage', f.slots['layer0.expert1']]);
  });

  it('refuses a base or rebase head that is a validly signed block of another chain', async () => {
    const stranger = foreign.slots[SLOT]! as Hash;
    const model = await FrozenModel.open(client(f.app, { route: (path) => (path.includes(stranger) ? foreign.app : undefined) }), f.meta, f.meta);
    const e = await refusal(model.block(stranger, SLOT));
    expect([e.reason, e.hash]).toEqual(['broken_lineage', stranger]);
  });
});

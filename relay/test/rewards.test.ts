import type { Address } from '@blyan/block';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitPool } from '../src/rewards/pool.ts';
import { type AccountsFixture, type LoggedIn, ORIGIN, accountsFixture, clock, login, postJson } from './accounts-helpers.ts';
import { authority, genesisAccount } from './helpers.ts';

let f: AccountsFixture;
let alice: LoggedIn;
beforeAll(async () => {
  f = await accountsFixture({ rateLimit: { max: 50, windowMs: 60_000 } });
  alice = await login(f.app, { expiresAt: clock.now + 20 * 3600_000 });
});
afterAll(() => f.close());

const POOL = 10_000;
const HOUR = 3600_000;

async function report(who: LoggedIn, experts: { block: string; tokens: number }[], opts: { at?: number; signer?: LoggedIn['key']; account?: string; origin?: string } = {}) {
  const text = JSON.stringify({ account: opts.account ?? who.account, origin: opts.origin ?? ORIGIN, created_at: opts.at ?? clock.now, experts });
  const signature = await (opts.signer ?? who.key).signMessage({ message: text });
  const res = await postJson(f.app, '/v1/usage', { report: text, signature }, who.cookie);
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; counted?: string[] } };
}

const board = async () => (await (await f.app.request('/v1/leaderboard')).json()) as { leaders: { address: Address; balance: number }[]; trial_balance: { total: number; entries: number; unbalanced: number[] } };

describe('rewards: usage reports and the double-entry ledger', () => {
  it('counts signed usage toward the period, pays the fixed pool to expert authors when it ends, balances, and makes used slots hot', async () => {
    const r = await report(alice, [
      { block: f.slots['layer1.expert2']!, tokens: 120 },
      { block: f.slots['layer0.expert3']!, tokens: 30 },
    ]);
    expect(r.status).toBe(201);
    expect(r.body.counted).toEqual([f.slots['layer1.expert2'], f.slots['layer0.expert3']]);
    expect((await board()).leaders).toEqual([]);
    const a = (await (await f.app.request('/v1/assignment', { headers: { cookie: alice.cookie } })).json()) as { slot: string; reason: string; base: string; shard: { url: string; sha256: string } };
    expect(a).toMatchObject({ slot: 'layer1.expert2', reason: 'hot', base: f.slots['layer1.expert2'] });
    const shard = await f.app.request(a.shard.url);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(new Uint8Array(await shard.arrayBuffer())).digest('hex')).toBe(a.shard.sha256);
    clock.now += HOUR;
    const b = await board();
    expect(b.leaders).toEqual([{ address: authority, balance: POOL }]);
    expect(b.trial_balance).toEqual({ total: 0, entries: 1, unbalanced: [] });
    expect(await board()).toEqual(b);
    const history = (await (await f.app.request(`/v1/accounts/${authority}/history`)).json()) as { balance: number; entries: { kind: string; amount: number }[] };
    expect(history).toMatchObject({ balance: POOL, entries: [{ kind: 'usage', amount: POOL }] });
  });

  it('refuses replayed, unsigned, mis-signed, stale, oversized and non-expert reports without posting', async () => {
    const experts = [{ block: f.slots['layer0.expert1']!, tokens: 10 }];
    const text = JSON.stringify({ account: alice.account, origin: ORIGIN, created_at: clock.now, experts });
    const signature = await alice.key.signMessage({ message: text });
    expect((await postJson(f.app, '/v1/usage', { report: text, signature }, alice.cookie)).status).toBe(201);
    const before = await board();
    const replay = await postJson(f.app, '/v1/usage', { report: text, signature }, alice.cookie);
    expect([replay.status, ((await replay.json()) as { error: { code: string } }).error.code]).toEqual([409, 'duplicate_report']);
    const bob = await login(f.app);
    expect((await report(alice, experts, { signer: bob.key })).body.error?.code).toBe('bad_signature');
    expect((await report(alice, experts, { account: bob.account })).body.error?.code).toBe('wrong_account');
    expect((await report(alice, experts, { origin: 'http://other-relay.example' })).body.error?.code).toBe('wrong_origin');
    expect((await report(alice, experts, { at: clock.now - 3600_000 })).body.error?.code).toBe('stale_report');
    expect((await report(alice, [{ block: f.slots['layer0.expert1']!, tokens: 1e6 }])).body.error?.code).toBe('malformed_report');
    expect((await report(alice, [{ block: f.slots['layer0.router']!, tokens: 5 }])).body.error?.code).toBe('not_expert');
    expect((await postJson(f.app, '/v1/usage', { report: text, signature })).status).toBe(401);
    expect(await board()).toEqual(before);
  });

  it('gives no credit for using your own experts', async () => {
    clock.now += HOUR;
    const before = await board();
    const author = await login(f.app, {}, genesisAccount);
    const r = await report(author, [{ block: f.slots['layer0.expert0']!, tokens: 10 }]);
    expect(r.status).toBe(201);
    expect(r.body.counted).toEqual([]);
    clock.now += HOUR;
    expect(await board()).toEqual(before);
  });
});

describe('the usage pool split', () => {
  it('pays each author in proportion to counted use, in whole units by largest remainder, exactly the pool', () => {
    const a = '0x000000000000000000000000000000000000000a' as Address;
    const b = '0x000000000000000000000000000000000000000b' as Address;
    expect(splitPool(10_000, new Map([[a, 2], [b, 1]]))).toEqual([
      { address: a, amount: 6667 },
      { address: b, amount: 3333 },
    ]);
    expect(splitPool(10_000, new Map())).toEqual([]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 50 }), (units, uses) => {
        const paid = splitPool(units, new Map(uses.map((n, i) => [`0x${i.toString(16).padStart(40, '0')}` as Address, n])));
        const total = paid.reduce((s, c) => s + c.amount, 0);
        return total === units && paid.every((c) => Number.isSafeInteger(c.amount) && c.amount > 0);
      }),
    );
  });
});


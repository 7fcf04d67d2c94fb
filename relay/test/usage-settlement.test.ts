import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address, Hash } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccountsDb } from '../src/accounts/db.ts';
import { Journal, userAccount } from '../src/rewards/journal.ts';
import { SettleOncePerPeriod } from '../src/rewards/settle-once.ts';
import { SqliteUsage, type UsageStore } from '../src/rewards/usage-store.ts';
import { type AccountsFixture, accountsFixture } from './accounts-helpers.ts';
import { tempDir } from './helpers.ts';

const POOL = { units: 1000, periodMs: 3600_000 };
const AUTHOR = '0x00000000000000000000000000000000000000a1' as Address;
const READER = '0x00000000000000000000000000000000000000b2' as Address;
const BLOCK = 'ab'.repeat(32) as Hash;

let dir: string;
let db: ReturnType<typeof openAccountsDb>;
let journal: Journal;
beforeAll(async () => {
  dir = await tempDir();
  db = openAccountsDb(join(dir, 'accounts.sqlite'));
  journal = new Journal(db, () => 0);
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

/** The store's settlements, counted as they reach it. */
function counted(store: UsageStore): { store: UsageStore; settlements: () => number } {
  let n = 0;
  return {
    store: {
      record: (r, period) => store.record(r, period),
      settle: (pool, now) => {
        n += 1;
        return store.settle(pool, now);
      },
    },
    settlements: () => n,
  };
}

describe('usage settlement: at most once per period in a process', () => {
  it('reads in one period reach the store once; the first read after the period ends pays it', async () => {
    const inner = counted(new SqliteUsage(db, journal));
    const usage = new SettleOncePerPeriod(inner.store);
    const t0 = 10 * POOL.periodMs;
    await usage.record({ id: 'r1', account: READER, at: t0, tokens: 5, lines: [{ slot: 'layer0.expert0', block: BLOCK, tokens: 5, author: AUTHOR, counts: true }] }, 10);
    for (let i = 0; i < 20; i++) expect(await usage.settle(POOL, t0 + i * 1000)).toEqual([]);
    expect(inner.settlements()).toBe(1);
    expect(await journal.balance(userAccount(AUTHOR))).toBe(0);

    expect(await usage.settle(POOL, t0 + POOL.periodMs)).toEqual([{ period: 10, paid: POOL.units }]);
    expect(await journal.balance(userAccount(AUTHOR))).toBe(POOL.units);
    for (let i = 0; i < 20; i++) await usage.settle(POOL, t0 + POOL.periodMs + i * 1000);
    expect(inner.settlements()).toBe(2);

    await Promise.all(Array.from({ length: 5 }, () => usage.settle(POOL, t0 + 2 * POOL.periodMs)));
    expect(inner.settlements()).toBe(3);
  });

  it('concurrent callers of one settlement: only the caller that ran it reports the payment, so their lists together name it once', async () => {
    const inner = counted(new SqliteUsage(db, journal));
    const usage = new SettleOncePerPeriod(inner.store);
    const t0 = 20 * POOL.periodMs;
    const before = await journal.balance(userAccount(AUTHOR));
    await usage.record({ id: 'r20', account: READER, at: t0, tokens: 5, lines: [{ slot: 'layer0.expert0', block: BLOCK, tokens: 5, author: AUTHOR, counts: true }] }, 20);
    await usage.settle(POOL, t0);
    const lists = await Promise.all(Array.from({ length: 5 }, () => usage.settle(POOL, t0 + POOL.periodMs)));
    expect(lists.flat()).toEqual([{ period: 20, paid: POOL.units }]);
    expect(inner.settlements()).toBe(2);
    expect(await journal.balance(userAccount(AUTHOR))).toBe(before + POOL.units);
  });

  it('settles again after a failed settlement', async () => {
    let fail = true;
    const inner = counted({
      record: async () => null,
      settle: async () => {
        if (fail) throw new Error('database unavailable');
        return [];
      },
    });
    const usage = new SettleOncePerPeriod(inner.store);
    await expect(usage.settle(POOL, 0)).rejects.toThrow('database unavailable');
    fail = false;
    expect(await usage.settle(POOL, 1)).toEqual([]);
    expect(inner.settlements()).toBe(2);
  });
});

describe('the relay settles usage through it', () => {
  let f: AccountsFixture;
  beforeAll(async () => (f = await accountsFixture()));
  afterAll(() => f.close());
  it('wraps the accounts usage store', () => expect(f.relay.accounts.usage).toBeInstanceOf(SettleOncePerPeriod));
});

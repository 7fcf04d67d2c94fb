import type { Address } from '@blyan/block';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PgAuthStore } from '../src/auth/pg-auth-store.ts';
import { PgRateStore } from '../src/server/pg-rate-store.ts';
import { openPgPool } from '../src/store/pg-pool.ts';
import { testBackend } from './backends.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** `n` pools on one fresh database, as `n` replicas hold them. */
async function replicaPools(n: number): Promise<pg.Pool[]> {
  const b = await testBackend('postgres+s3');
  cleanup.push(() => b.drop());
  const pools = await Promise.all(Array.from({ length: n }, () => openPgPool(b.backends.database!)));
  cleanup.push(async () => {
    for (const p of pools) await p.end();
  });
  return pools;
}

const now = () => Date.now();
const ACCOUNT = '0x00000000000000000000000000000000000000aa' as Address;
const KEY = '0x00000000000000000000000000000000000000bb' as Address;
const delegation = { account: ACCOUNT, sessionKey: KEY, issuedAt: Date.now(), expiresAt: Date.now() + 60_000 };

describe('PgAuthStore shared by replicas', () => {
  it('lets exactly one of many replicas racing to use a nonce have it', async () => {
    const stores = (await replicaPools(4)).map((p) => new PgAuthStore(p, now));
    const { nonce } = await stores[0]!.issueNonce(60_000);
    const uses = await Promise.all(stores.flatMap((s) => [s.useNonce(nonce), s.useNonce(nonce)]));
    expect(uses.filter((u) => u === 'ok')).toHaveLength(1);
    expect(uses.filter((u) => u === 'unknown_nonce')).toHaveLength(7);
  });

  it('opens one session for one session key however many replicas race to', async () => {
    const stores = (await replicaPools(4)).map((p) => new PgAuthStore(p, now));
    const tokens = await Promise.all(stores.flatMap((s) => [s.openSession(delegation, 'm', 's'), s.openSession(delegation, 'm', 's')]));
    const opened = tokens.filter((t) => t !== null);
    expect(opened).toHaveLength(1);
    for (const s of stores) {
      expect(await s.session(opened[0]!)).toMatchObject({ account: ACCOUNT, sessionKey: KEY });
      expect(await s.isDelegate(ACCOUNT, KEY)).toBe(true);
    }
    expect(await stores[1]!.revoke(opened[0]!)).toBe(true);
    expect(await stores[2]!.isDelegate(ACCOUNT, KEY)).toBe(false);
    expect(await stores[3]!.session(opened[0]!)).toBeUndefined();
  });

  it('keeps at most maxNonces unused nonces, evicting the oldest', async () => {
    const [pool] = await replicaPools(1);
    const store = new PgAuthStore(pool!, now, 5);
    const issued = [];
    for (let i = 0; i < 8; i++) issued.push((await store.issueNonce(60_000 + i)).nonce);
    expect(Number((await pool!.query('SELECT count(*) AS n FROM nonces')).rows[0].n)).toBe(5);
    expect(await store.useNonce(issued[0]!)).toBe('unknown_nonce');
    expect(await store.useNonce(issued[7]!)).toBe('ok');
  });
});

describe('PgRateStore shared by replicas', () => {
  it('counts one window for a key across replicas, exactly, under concurrent hits', async () => {
    const stores = (await replicaPools(3)).map((p) => {
      const s = new PgRateStore(p);
      s.init({ windowMs: 60_000 });
      return s;
    });
    const hits = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.increment('nonce:127.0.0.1')));
    expect(hits.map((h) => h.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await stores[0]!.increment('nonce:10.0.0.1')).totalHits).toBe(1);
  });

  it('starts a new window once the old one has passed', async () => {
    const [pool] = await replicaPools(1);
    const store = new PgRateStore(pool!);
    store.init({ windowMs: 50 });
    await store.increment('k');
    expect((await store.increment('k')).totalHits).toBe(2);
    await new Promise((r) => setTimeout(r, 80));
    expect((await store.increment('k')).totalHits).toBe(1);
  });
});

import type { Address } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/server/app.ts';
import { type AccountsFixture, accountsFixture, accountsRow, clock, login, newAccount, nonce, postJson, siweMessage } from '../accounts-helpers.ts';
import { authority, evaluator } from '../helpers.ts';

let f: AccountsFixture;
beforeAll(async () => {
  f = await accountsFixture({ rateLimit: { max: 50, windowMs: 60_000 } });
});
afterAll(() => f.close());

const code = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;
/** Rows of `table` (sessions, nonces) in `g`'s accounts database. */
const rows = async (table: string, g = f) => (await accountsRow<{ n: number }>(g, `SELECT COUNT(*) AS n FROM ${table}`)).n;
const sessions = () => rows('sessions');
/**
 * A request's connection from client address `ip`: limits count per client, and on postgres+s3 in
 * the database every app on it shares, so a limit test takes a client no earlier test used.
 */
const fromClient = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });

describe('attacks on sign-in', () => {
  /** A login of a fresh wallet that names `sessionKey`, signed for the key by `keySigner`. */
  async function loginNaming(sessionKey: Address, keySigner = newAccount()) {
    const wallet = newAccount();
    const message = siweMessage(wallet.address, await nonce(f.app), { sessionKey });
    return postJson(f.app, '/v1/auth/login', { message, signature: await wallet.signMessage({ message }), key_signature: await keySigner.signMessage({ message }) });
  }

  it("a sign-in naming someone else's live session key: 409, no session, no cookie", async () => {
    const victim = await login(f.app);
    const before = await sessions();
    const r = await loginNaming(victim.key.address.toLowerCase() as Address);
    expect([r.status, await code(r)]).toEqual([409, 'session_key_in_use']);
    expect(r.headers.get('set-cookie')).toBeNull();
    expect(await sessions()).toBe(before);
  });

  it('two sign-ins racing with one session key: exactly one session, the other 409', async () => {
    const key = newAccount();
    const before = await sessions();
    const attempts = await Promise.all([0, 1].map(() => loginNaming(key.address.toLowerCase() as Address, key)));
    expect(attempts.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await sessions()).toBe(before + 1);
  });

  it("a sign-in naming a key the caller does not hold (no proof of possession): 401, no session", async () => {
    const before = await sessions();
    const r = await loginNaming(newAccount().address.toLowerCase() as Address);
    expect([r.status, await code(r)]).toEqual([401, 'bad_key_signature']);
    expect(await sessions()).toBe(before);
  });

  it.each([
    ['the genesis authority', authority],
    ['the evaluator', evaluator],
  ])("a sign-in naming %s's address as its session key: 403, no session", async (_, key) => {
    const before = await sessions();
    const r = await loginNaming(key as Address);
    expect([r.status, await code(r)]).toEqual([403, 'trusted_key']);
    expect(await sessions()).toBe(before);
  });
});

describe('abuse limits', () => {
  it('POST /v1/auth/login with a 2 MB body: 413 after reading at most 16 KiB of it, and the relay answers meanwhile', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= 2 << 20) return c.close();
        pulled += chunk.length;
        c.enqueue(chunk);
      },
    });
    const t0 = performance.now();
    const r = await f.app.request('/v1/auth/login', { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect([r.status, await code(r)]).toEqual([413, 'body_too_large']);
    expect(pulled).toBeLessThanOrEqual(16 * 1024 + 2 * chunk.length);
    expect(performance.now() - t0).toBeLessThan(1000);
    const declared = await f.app.request('/v1/auth/login', { method: 'POST', body: new Uint8Array(2 << 20), headers: { 'content-type': 'application/json', 'content-length': String(2 << 20) } });
    expect([declared.status, await code(declared)]).toEqual([413, 'body_too_large']);
  });

  it('a POST /v1/auth/nonce flood from one client: 429 with Retry-After beyond 60 a minute, the table holds only what was issued', async () => {
    const app = createApp({ ...f.relay, maxPayloadBytes: 1 << 20 });
    const before = await rows('nonces');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 500; i++) {
      const r = await app.request('/v1/auth/nonce', { method: 'POST' }, fromClient('10.0.0.1'));
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(440);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect((await rows('nonces')) - before).toBe(60);
  });

  it.each(['/v1/auth/login', '/v1/blocks', '/v1/contributions', '/v1/datasets/notes/uploads', '/v1/votes', '/v1/rounds/1/deltas', '/v1/usage'])('POST %s beyond its per-client limit: 429 with Retry-After before the route reads anything', async (path) => {
    const one = { limit: 2, windowMs: 60_000 };
    const app = createApp({ ...f.relay, maxPayloadBytes: 1 << 20, limits: { nonce: one, login: one, blocks: one, contributions: one, uploads: one, votes: one, deltas: one, usage: one } });
    const send = () => app.request(path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/octet-stream' } }, fromClient('10.0.0.2'));
    expect((await send()).status).not.toBe(429);
    expect((await send()).status).not.toBe(429);
    const r = await send();
    expect([r.status, await code(r)]).toEqual([429, 'rate_limited']);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('the nonce table is capped: past the cap the oldest unused nonce is evicted', async () => {
    const g = await accountsFixture({ maxNonces: 20 });
    try {
      const first = await nonce(g.app);
      for (let i = 0; i < 30; i++) {
        clock.now += 1;
        await nonce(g.app);
      }
      expect(await rows('nonces', g)).toBe(20);
      const wallet = newAccount();
      const key = newAccount();
      const message = siweMessage(wallet.address, first, { sessionKey: key.address });
      const r = await postJson(g.app, '/v1/auth/login', { message, signature: await wallet.signMessage({ message }), key_signature: await key.signMessage({ message }) });
      expect([r.status, await code(r)]).toEqual([401, 'unknown_nonce']);
    } finally {
      await g.close();
    }
  });
});

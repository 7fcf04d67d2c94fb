import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, ORIGIN, accountsFixture, clock, login, newAccount, nonce, postJson, siweMessage } from './accounts-helpers.ts';

let f: AccountsFixture;
beforeAll(async () => {
  f = await accountsFixture();
});
afterAll(() => f.close());

async function attempt(message: string, signer = newAccount(), key = newAccount()) {
  const res = await postJson(f.app, '/v1/auth/login', { message, signature: await signer.signMessage({ message }), key_signature: await key.signMessage({ message }) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; account?: string } };
}

describe('Sign-In with Ethereum', () => {
  it('logs in, sets an httpOnly SameSite cookie, answers /me, and logout ends the session', async () => {
    const wallet = newAccount();
    const key = newAccount();
    const message = siweMessage(wallet.address, await nonce(f.app), { sessionKey: key.address });
    const res = await postJson(f.app, '/v1/auth/login', { message, signature: await wallet.signMessage({ message }), key_signature: await key.signMessage({ message }) });
    expect(res.status).toBe(200);
    const set = res.headers.get('set-cookie')!;
    expect(set).toMatch(/^blyan_session=[A-Za-z0-9_-]{43};/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    const cookie = set.split(';')[0]!;
    const me = await f.app.request('/v1/auth/me', { headers: { cookie } });
    expect(await me.json()).toMatchObject({ account: wallet.address.toLowerCase(), session_key: key.address.toLowerCase() });
    expect(await f.relay.accounts.auth.isDelegate(wallet.address.toLowerCase() as `0x${string}`, key.address.toLowerCase() as `0x${string}`)).toBe(true);
    const proof = await f.app.request(`/v1/delegations/${key.address}`);
    expect(((await proof.json()) as { delegations: { message: string }[] }).delegations[0]!.message).toBe(message);
    expect((await f.app.request('/v1/auth/logout', { method: 'POST', headers: { cookie } })).status).toBe(200);
    const after = await f.app.request('/v1/auth/me', { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ error: { code: 'session_ended', message: expect.stringMatching(/logged out/) } });
    expect(await f.relay.accounts.auth.isDelegate(wallet.address.toLowerCase() as `0x${string}`, key.address.toLowerCase() as `0x${string}`)).toBe(false);
  });

  it('answers session routes only from the web app origin, with credentialed CORS for it alone', async () => {
    const s = await login(f.app);
    const own = await f.app.request('/v1/auth/me', { headers: { cookie: s.cookie, origin: ORIGIN } });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(own.headers.get('access-control-allow-credentials')).toBe('true');
    const foreign = await f.app.request('/v1/auth/me', { headers: { cookie: s.cookie, origin: 'http://localhost:9999' } });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('foreign_origin');
    expect(foreign.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('refuses a replayed nonce: a used nonce is deleted', async () => {
    const wallet = newAccount();
    const key = newAccount();
    const message = siweMessage(wallet.address, await nonce(f.app), { sessionKey: key.address });
    const first = await postJson(f.app, '/v1/auth/login', { message, signature: await wallet.signMessage({ message }), key_signature: await key.signMessage({ message }) });
    expect(first.status).toBe(200);
    await f.app.request('/v1/auth/logout', { method: 'POST', headers: { cookie: first.headers.get('set-cookie')!.split(';')[0]! } });
    const again = await attempt(message, wallet, key);
    expect(again.status).toBe(401);
    expect(again.body.error).toEqual({ code: 'unknown_nonce', message: expect.stringMatching(/already used/) });
  });

  it('refuses nonces it never issued and nonces that expired', async () => {
    const wallet = newAccount();
    const key = newAccount();
    const made = siweMessage(wallet.address, 'abcdef0123456789', { sessionKey: key.address });
    expect((await attempt(made, wallet, key)).body.error?.code).toBe('unknown_nonce');
    const n = await nonce(f.app);
    clock.now += 11 * 60_000;
    const late = siweMessage(wallet.address, n, { sessionKey: key.address });
    expect((await attempt(late, wallet, key)).body.error?.code).toBe('nonce_expired');
  });

  it('refuses expired, future, foreign-domain, foreign-URI, wrong-chain, tampered and key-less messages', async () => {
    const wallet = newAccount();
    const key = newAccount().address;
    const cases: [Parameters<typeof siweMessage>[2], number, string][] = [
      [{ expiresAt: clock.now - 1000, issuedAt: clock.now - 60_000 }, 401, 'expired_message'],
      [{ issuedAt: clock.now + 5 * 60_000 }, 401, 'issued_in_future'],
      [{ issuedAt: clock.now - 20 * 60_000 }, 401, 'message_too_old'],
      [{ domain: 'evil.example' }, 401, 'wrong_domain'],
      [{ uri: 'https://evil.example' }, 401, 'wrong_uri'],
      [{ chainId: 5 }, 401, 'wrong_chain'],
      [{ expiresAt: null }, 400, 'no_expiration'],
      [{ expiresAt: clock.now + 48 * 3600_000 }, 400, 'session_too_long'],
      [{ sessionKey: null }, 400, 'no_session_key'],
    ];
    for (const [fields, status, code] of cases) {
      const r = await attempt(siweMessage(wallet.address, await nonce(f.app), { sessionKey: key, ...fields }), wallet);
      expect([r.status, r.body.error?.code], JSON.stringify(fields)).toEqual([status, code]);
    }
    const message = siweMessage(wallet.address, await nonce(f.app), { sessionKey: key });
    const signature = await wallet.signMessage({ message });
    const tampered = message.replace(key, newAccount().address);
    const res = await postJson(f.app, '/v1/auth/login', { message: tampered, signature });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_signature');
    const other = await attempt(siweMessage(wallet.address, await nonce(f.app), { sessionKey: key }), newAccount());
    expect(other.body.error?.code).toBe('bad_signature');
    expect((await postJson(f.app, '/v1/auth/login', { message: 'hello', signature: '0x00' })).status).toBe(400);
  });

  it('lets a session key sign blocks for its account only while the session lives', async () => {
    const s = await login(f.app);
    const at = s.account;
    const key = s.key.address.toLowerCase() as `0x${string}`;
    expect(await f.relay.accounts.auth.isDelegate(at, key)).toBe(true);
    expect(await f.relay.accounts.auth.isDelegate(newAccount().address.toLowerCase() as `0x${string}`, key)).toBe(false);
    clock.now += 2 * 3600_000;
    expect(await f.relay.accounts.auth.isDelegate(at, key)).toBe(false);
    expect((await f.app.request('/v1/auth/me', { headers: { cookie: s.cookie } })).status).toBe(401);
  });
});

import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { Accounts } from '../accounts/accounts.ts';
import { ApiError, errorBody } from '../server/api-error.ts';
import { addressParam } from '../server/params.ts';
import { SMALL_JSON_BYTES, readJson } from '../server/read-body.ts';
import { SESSION_COOKIE, requireSession } from './session.ts';
import type { IndexStore } from '../store/index-store.ts';
import { checkSessionKey, trustedKeys } from './session-key.ts';
import { SESSION_KEY_URN, checkSiweLogin } from './siwe-login.ts';

async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const malformed = new ApiError(400, 'malformed_body', 'body must be a JSON object');
  const x = await readJson(req, SMALL_JSON_BYTES, malformed);
  if (typeof x === 'object' && x !== null) return x as Record<string, unknown>;
  throw malformed;
}

/**
 * Sign-In with Ethereum: nonces, login (session cookie + session-key delegation, the session key
 * proving itself by signing the same message), logout, me, and published delegations.
 */
export function authRoutes({ auth, config }: Accounts, index: IndexStore): Hono {
  const app = new Hono();
  const { siwe } = config;

  app.post('/auth/nonce', async (c) => {
    const { nonce, expiresAt } = await auth.issueNonce(config.nonceTtlMs);
    return c.json({
      nonce,
      expires_at: expiresAt,
      domain: siwe.domain,
      uri: siwe.uri,
      chain_id: siwe.chainId,
      max_session_ms: siwe.maxSessionMs,
      session_key_resource: `${SESSION_KEY_URN}0x<session key address>`,
    });
  });

  app.post('/auth/login', async (c) => {
    const { message, signature, key_signature: keySignature } = await jsonBody(c.req.raw);
    if (typeof message !== 'string' || typeof signature !== 'string') throw new ApiError(400, 'malformed_body', 'body must be { message, signature, key_signature }');
    const now = config.now();
    const login = await checkSiweLogin(message, signature, siwe, now);
    if (!login.ok) return c.json(errorBody(login.code, login.message), login.status);
    const held = await checkSessionKey(login.sessionKey, message, keySignature, await trustedKeys(index), (k) => auth.keyInUse(k));
    if (!held.ok) return c.json(errorBody(held.code, held.message), held.status);
    const nonce = await auth.useNonce(login.nonce);
    if (nonce !== 'ok') {
      const why = { unknown_nonce: 'this relay did not issue that nonce, or it was already used: sign a fresh message', nonce_expired: 'that nonce expired: ask for a new one' };
      return c.json(errorBody(nonce, why[nonce]), 401);
    }
    const token = await auth.openSession(login, message, signature);
    if (token === null) return c.json(errorBody('session_key_in_use', `${login.sessionKey} became the key of another live session; make a fresh key`), 409);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: siwe.uri.startsWith('https:'),
      path: '/',
      maxAge: Math.floor((login.expiresAt - now) / 1000),
    });
    return c.json({ account: login.account, session_key: login.sessionKey, expires_at: login.expiresAt });
  });

  app.post('/auth/logout', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    await auth.revoke(session.token);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.json({ ok: true, revoked: session.sessionKey });
  });

  app.get('/auth/me', async (c) => {
    const s = await requireSession(c, auth, config.siwe.uri);
    return c.json({ account: s.account, session_key: s.sessionKey, issued_at: s.issuedAt, expires_at: s.expiresAt });
  });

  app.get('/delegations/:key', async (c) => {
    const key = addressParam(c.req.param('key'), 'a session key is a 0x-prefixed 20-byte hex address');
    const proofs = await auth.proofs(key);
    if (proofs.length === 0) throw new ApiError(404, 'not_found', `no login delegated to ${key}`);
    return c.json({
      session_key: key,
      delegations: proofs.map((p) => ({
        account: p.account,
        issued_at: p.issuedAt,
        expires_at: p.expiresAt,
        revoked_at: p.revokedAt,
        message: p.message,
        signature: p.signature,
      })),
    });
  });

  return app;
}

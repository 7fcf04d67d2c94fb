import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { ApiError } from '../server/api-error.ts';
import type { AuthStore, Delegation } from './auth-store.ts';

export const SESSION_COOKIE = 'blyan_session';

/**
 * The live session of the request's cookie, or 401. A request that names an `Origin` other than
 * the web app's is refused (403) even with a cookie: SameSite=Strict keeps other sites out, this
 * keeps out other origins of the same site (another port on localhost).
 */
export async function requireSession(c: Context, auth: AuthStore, appOrigin: string): Promise<Delegation & { token: string }> {
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== appOrigin) throw new ApiError(403, 'foreign_origin', `requests with a session must come from ${appOrigin}, not ${origin}`);
  const token = getCookie(c, SESSION_COOKIE);
  if (token === undefined) throw new ApiError(401, 'no_session', 'sign in first (POST /v1/auth/login)');
  const session = await auth.session(token);
  if (session === undefined) throw new ApiError(401, 'session_ended', 'this session expired or was logged out; sign in again');
  return { ...session, token };
}

import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { authRoutes } from '../auth/routes.ts';
import { contributionRoutes } from '../contributions/routes.ts';
import { dataRoutes } from '../data/routes.ts';
import { roundRoutes } from '../rounds/routes.ts';
import { rewardRoutes } from '../rewards/routes.ts';
import { ApiError, errorBody } from './api-error.ts';
import { blockRoutes } from './block-routes.ts';
import { chainRoutes } from './chain-routes.ts';
import { DEFAULT_CLIENT_LIMITS, perClient } from './client-limits.ts';
import { type CorsOptions, cors, corsHeaders } from './cors.ts';
import type { AppDeps } from './deps.ts';
import { fromMemory, payloadFastPath, toUrl } from './payload-fast-path.ts';
import { submitRoute } from './submit-route.ts';
import { mountWebApp } from './web-app.ts';

/** The API's CORS: the web app's own origin (the SIWE URI) credentialed, any other `*`. */
const relayCors = (deps: AppDeps): CorsOptions => ({
  credentialedOrigin: deps.accounts.config.siwe.uri,
  allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
  allowHeaders: ['Content-Type', 'Range', 'If-None-Match', 'If-Range'],
  exposeHeaders: ['ETag', 'Content-Length', 'Content-Range', 'Accept-Ranges', 'Location', 'Blyan-Proof', 'Blyan-Tile-Count'],
  maxAge: 86400,
});

/**
 * The relay's HTTP API under /v1, readable from any origin; the web app's own origin (the SIWE
 * URI) also gets credentialed requests, so its session cookie reaches the account routes. With
 * `webApp` (a built apps/web/dist), the app itself is served at / from the same origin. Writes
 * and sign-in are rate-limited per client before any route runs; every route reads its body through readBody's cap.
 */
export function createApp(deps: AppDeps, webApp?: string): Hono {
  const app = new Hono();
  app.use('*', cors(relayCors(deps)));
  const limits = deps.limits ?? DEFAULT_CLIENT_LIMITS;
  app.post('/v1/auth/nonce', perClient('nonce', limits.nonce, deps.limitStore));
  app.post('/v1/auth/login', perClient('login', limits.login, deps.limitStore));
  app.post('/v1/blocks', perClient('blocks', limits.blocks, deps.limitStore));
  app.post('/v1/contributions', perClient('contributions', limits.contributions, deps.limitStore));
  app.post('/v1/datasets/:name/uploads', perClient('uploads', limits.uploads, deps.limitStore));
  app.post('/v1/votes', perClient('votes', limits.votes, deps.limitStore));
  app.post('/v1/rounds/:id/deltas', perClient('deltas', limits.deltas, deps.limitStore));
  app.post('/v1/usage', perClient('usage', limits.usage, deps.limitStore));
  app.route('/v1', chainRoutes(deps));
  app.route('/v1', blockRoutes(deps));
  app.route('/v1', submitRoute(deps));
  app.route('/v1', authRoutes(deps.accounts, deps.index));
  app.route('/v1', contributionRoutes(deps.accounts, deps.index, deps.objects));
  app.route('/v1', roundRoutes(deps.accounts, deps.index));
  app.route('/v1', rewardRoutes(deps.accounts, deps.index));
  app.route('/v1', dataRoutes(deps.accounts, deps.index));
  if (webApp !== undefined) mountWebApp(app, webApp);
  app.notFound((c) => c.json(errorBody('no_route', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((e, c) => {
    if (e instanceof ApiError) return c.json(errorBody(e.code, e.message), e.status);
    console.error(e);
    return c.json(errorBody('internal', 'internal error'), 500);
  });
  return app;
}

/**
 * The relay as a node:http request listener: payload requests answered by the fast path
 * (relay/src/server/payload-fast-path.ts) from memory, or with `payloadUrl` (the public URL of the
 * bucket or of the CDN in front of it) by a redirect there; everything else by the Hono app.
 */
export function relayListener(deps: AppDeps, webApp?: string, payloadUrl?: string): RequestListener {
  const responder = payloadUrl === undefined ? fromMemory(deps.objects) : toUrl(payloadUrl);
  return payloadFastPath({ index: deps.index, responder, cors: corsHeaders(relayCors(deps)) }, getRequestListener(createApp(deps, webApp).fetch));
}

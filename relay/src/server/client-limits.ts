import type { Context, MiddlewareHandler } from 'hono';
import { type Store, rateLimiter } from 'hono-rate-limiter';
import { errorBody } from './api-error.ts';

/** The client a request comes from: its socket's remote address (the relay trusts no forwarding header). */
export function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'local';
}

/** How many requests one client may make to a route group per window. */
export interface ClientLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/** A fresh counter store for one route group's limit; absent, hono-rate-limiter counts in memory. */
export type LimitStore = () => Store;

/**
 * At most `limit` requests per client address per `windowMs` (hono-rate-limiter, in this process's
 * memory, or in `store` when replicas share one); the rest get 429 `rate_limited` with
 * Retry-After. `name` keeps each route group's count apart.
 */
export const perClient = (name: string, { limit, windowMs }: ClientLimit, store?: LimitStore): MiddlewareHandler =>
  rateLimiter({
    windowMs,
    limit,
    ...(store && { store: store() }),
    standardHeaders: 'draft-6',
    keyGenerator: (c) => `${name}:${clientAddress(c)}`,
    handler: (c) => c.json(errorBody('rate_limited', `at most ${limit} ${name} requests per ${windowMs / 1000} s from one client; retry after Retry-After`), 429),
  });

/** Per-client limits of the routes that write or start a sign-in. */
export interface ClientLimits {
  readonly nonce: ClientLimit;
  readonly login: ClientLimit;
  readonly blocks: ClientLimit;
  readonly contributions: ClientLimit;
  readonly uploads: ClientLimit;
  readonly votes: ClientLimit;
  readonly deltas: ClientLimit;
  readonly usage: ClientLimit;
}

/**
 * Well above what one person's browser needs (a sign-in takes one nonce and one login), far
 * below a flood: one client gets 60 nonces a minute where main gave 896 a second.
 */
export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  nonce: { limit: 60, windowMs: 60_000 },
  login: { limit: 30, windowMs: 60_000 },
  blocks: { limit: 600, windowMs: 60_000 },
  contributions: { limit: 60, windowMs: 60_000 },
  uploads: { limit: 30, windowMs: 60_000 },
  votes: { limit: 120, windowMs: 60_000 },
  deltas: { limit: 60, windowMs: 60_000 },
  usage: { limit: 120, windowMs: 60_000 },
};

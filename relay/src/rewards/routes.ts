import { Hono } from 'hono';
import type { Accounts } from '../accounts/accounts.ts';
import { requireSession } from '../auth/session.ts';
import { ApiError, errorBody } from '../server/api-error.ts';
import { addressParam, intParam } from '../server/params.ts';
import { SMALL_JSON_BYTES, readJson } from '../server/read-body.ts';
import type { IndexStore } from '../store/index-store.ts';
import { userAccount } from './journal.ts';
import { type UsageBody, recordUsage } from './usage.ts';

/** Signed usage reports, the leaderboard and per-account history; each settles the usage pool of every ended period first. */
export function rewardRoutes(accounts: Accounts, index: IndexStore): Hono {
  const app = new Hono();
  const { auth, config, book, limiter, usage, contributions } = accounts;

  app.post('/usage', async (c) => {
    const raw = await readJson(c.req.raw, SMALL_JSON_BYTES, new ApiError(400, 'malformed_report', 'body must be JSON { report, signature }'));
    const session = await requireSession(c, auth, config.siwe.uri);
    const slot = await limiter.take(session.account);
    if (!slot.ok) return c.json(errorBody('rate_limited', 'too many submissions; slow down'), 429, { 'Retry-After': String(Math.ceil(slot.retryAfterMs / 1000)) });
    const body = raw as UsageBody;
    const limits = { maxTokens: config.maxUsageTokens, skewMs: 5 * 60_000, origin: config.siwe.uri, pool: config.usagePool };
    const now = config.now();
    await usage.settle(config.usagePool, now);
    const r = await recordUsage(usage, index, session, body, limits, now);
    if (!r.ok) return c.json(errorBody(r.code, r.message), r.status);
    return c.json(r, 201);
  });

  app.get('/leaderboard', async (c) => {
    const limit = intParam(c.req.query('limit'), 'limit', 20, 1, 100);
    await usage.settle(config.usagePool, config.now());
    return c.json({ leaders: await book.leaderboard(limit), trial_balance: await book.trialBalance() });
  });

  app.get('/accounts/:address/history', async (c) => {
    const address = addressParam(c.req.param('address'), 'an address is 0x and 40 hex digits');
    const limit = intParam(c.req.query('limit'), 'limit', 50, 1, 500);
    await usage.settle(config.usagePool, config.now());
    return c.json({
      address,
      balance: await book.balance(userAccount(address)),
      entries: await book.history(address, limit),
      contributions: await contributions.ofAccount(address, limit),
    });
  });

  return app;
}

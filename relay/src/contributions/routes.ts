import { parseExpertSlot } from '@blyan/model/blocks';
import { type Context, Hono } from 'hono';
import type { Accounts } from '../accounts/accounts.ts';
import { requireSession } from '../auth/session.ts';
import { ApiError, errorBody } from '../server/api-error.ts';
import { readBody } from '../server/read-body.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { shardBody } from './assignment.ts';
import { checkContribution } from './intake.ts';
import { NO_EVALUATOR } from './judging.ts';
import type { Refusal } from './refusal.ts';
import { freshSample } from './sample.ts';

const MAX_HEADER = 64 * 1024;
/** Retry-After of a full evaluation queue: about one evaluation. */
const QUEUE_RETRY_S = 10;

/** A refusal as its JSON error (with the head to rebase on for stale_base); a full queue says when to retry. */
const refusal = (c: Context, r: Refusal) =>
  c.json({ ...errorBody(r.code, r.message), ...(r.head !== undefined && { head: r.head }) }, r.status, r.status === 429 ? { 'Retry-After': String(QUEUE_RETRY_S) } : {});

/** Contributions (submit, status), the assignment of what to train, and training shards. */
export function contributionRoutes(accounts: Accounts, index: IndexStore, objects: ObjectStore): Hono {
  const app = new Hono();
  const { auth, config, contributions, judging, limiter, evaluator } = accounts;

  /** Contributions and assignments need someone to sign their verdicts: this relay, or the workers of a replicated one. */
  const requireEvaluator = async () => {
    if ((await judging.evaluator(await index.metaHead())) === null) throw new ApiError(503, 'no_evaluator', NO_EVALUATOR);
  };
  const rules = () => ({
    min_improvement: config.minImprovement,
    max_delta_bytes: config.maxDeltaBytes,
    max_relative_norm: config.maxRelativeNorm,
    max_density: config.maxDensity,
    max_queued: config.maxQueued,
  });

  app.get('/contributions/config', async (c) => {
    const key = await judging.evaluator(await index.metaHead());
    return c.json({ judges: key !== null, evaluator: key, rules: rules() });
  });

  app.post('/contributions', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    await requireEvaluator();
    const slot = await limiter.take(session.account);
    if (!slot.ok) {
      return c.json(errorBody('rate_limited', `at most ${config.rateLimit.max} submissions per ${config.rateLimit.windowMs / 1000} s`), 429, {
        'Retry-After': String(Math.ceil(slot.retryAfterMs / 1000)),
      });
    }
    const body = await readBody(c.req.raw, 4 + MAX_HEADER + config.maxDeltaBytes);
    const checked = await checkContribution({ index, objects, auth, evaluator, config }, session, body);
    if (!checked.ok) return refusal(c, checked);
    const sample = freshSample();
    const queued = await contributions.add(checked, sample, config.now(), config.maxQueued);
    if (!queued.ok) return refusal(c, queued);
    judging.enqueue(queued.id);
    return c.json({ id: queued.id, status: 'queued', block: checked.block, commitment: sample.commitment }, 202, { Location: `/v1/contributions/${queued.id}` });
  });

  app.get('/contributions/:id', async (c) => {
    const raw = c.req.param('id');
    if (!/^\d{1,15}$/.test(raw)) throw new ApiError(400, 'bad_id', 'a contribution id is a positive integer');
    const v = await contributions.get(Number(raw));
    if (v === undefined) throw new ApiError(404, 'not_found', `no contribution ${raw}`);
    return c.json(v);
  });

  app.get('/assignment', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    await requireEvaluator();
    const meta = await index.metaHead();
    if (meta === null) throw new ApiError(404, 'empty_chain', 'the meta chain has no blocks yet');
    const heads = await index.paramIndex((await index.versionOf(meta))!);
    const experts = Object.keys(heads).filter((s) => parseExpertSlot(s) !== null).sort();
    const docs = config.trainDocs();
    const now = config.now();
    const a = await accounts.assigner.assign(session.account, meta, experts, { hotSince: now - config.hotWindowMs, shardCount: Math.ceil(docs.length / config.shardDocs), now, ttlMs: config.assignmentTtlMs });
    const { shard } = shardBody(docs, a.shard, config.shardDocs);
    return c.json({
      ...a,
      base: heads[a.slot]!,
      shard: { ...shard, split: 'train', url: `/v1/shards/${shard.index}` },
      rules: rules(),
    });
  });

  app.get('/shards/:index', (c) => {
    const docs = config.trainDocs();
    const count = Math.ceil(docs.length / config.shardDocs);
    const raw = c.req.param('index');
    if (!/^\d{1,9}$/.test(raw) || Number(raw) >= count) throw new ApiError(404, 'not_found', `shards are numbered 0 to ${count - 1}`);
    const { body, shard } = shardBody(docs, Number(raw), config.shardDocs);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'application/json', ETag: `"${shard.sha256}"`, 'Cache-Control': 'public, max-age=3600' });
  });

  return app;
}

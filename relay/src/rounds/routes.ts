import { isHash } from '@blyan/block';
import { parseVerdict } from '@blyan/chain';
import { Hono } from 'hono';
import type { Accounts } from '../accounts/accounts.ts';
import { requireSession } from '../auth/session.ts';
import { NO_EVALUATOR } from '../contributions/judging.ts';
import { ApiError, errorBody } from '../server/api-error.ts';
import { readBody } from '../server/read-body.ts';
import { shardBody } from '../contributions/assignment.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { RoundsConfig } from './config.ts';
import { type RoundRow, type RoundStore, roundUploaders } from './store.ts';

/** A round as the API shows it: its verdict and every delta's own score, outcome and credit (the seed only once decided). */
async function roundView(r: RoundRow, store: RoundStore, config: RoundsConfig) {
  return {
    id: r.id,
    slot: r.slot,
    meta: r.meta,
    base: r.base,
    steps: r.steps,
    status: r.status,
    reason: r.reason,
    commitment: r.commitment,
    opened_at: r.opened_at,
    closes_at: r.opened_at + config.openMs,
    contributors: r.seats,
    decided_at: r.decided_at,
    block: r.block,
    improvement: r.improvement,
    lower: r.lower,
    credit: r.pool,
    dataset: r.dataset,
    dataset_head: r.dataset_head,
    genesis: r.genesis_bound === null ? null : { improvement: r.genesis_change, lower: r.genesis_lower, bound: r.genesis_bound },
    uploaders: roundUploaders(r),
    verdict: r.verdict === null ? null : parseVerdict(JSON.parse(r.verdict)),
    deltas: (await store.deltas(r.id)).map((d) => ({
      id: d.id,
      account: d.account,
      shard: d.shard,
      status: d.status,
      copy_of: d.copy_of,
      improvement: d.before === null || d.after === null ? null : d.before - d.after,
      credit: d.credit,
    })),
  };
}

const DATASET_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Rounds per slot: GET /rounds/unit hands the signed-in account its work unit (?dataset=NAME: in a
 * round on that chain-D dataset; GET /datasets/:name/versions/:head/shards/:i serves its shards at
 * a version, immutable); POST
 * /rounds/:id/deltas takes its blyan-delta-v1 body; GET /rounds/:id shows the round. Full rounds
 * and rounds past their time are judged in the background (on the embedded relay, looked for
 * whenever a unit is asked for or a delta arrives; on replicas, by `blyan worker` processes).
 */
export function roundRoutes(accounts: Accounts, index: IndexStore): Hono {
  const app = new Hono();
  const { auth, config, rounds, roundStore, limiter, judging } = accounts;
  const requireEvaluator = async () => {
    if ((await judging.evaluator(await index.metaHead())) === null) throw new ApiError(503, 'no_evaluator', NO_EVALUATOR);
  };

  app.get('/rounds/unit', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    await requireEvaluator();
    judging.roundsDue();
    const name = c.req.query('dataset');
    if (name !== undefined && !DATASET_RE.test(name)) throw new ApiError(400, 'bad_query', 'a dataset name matches [A-Za-z0-9_.:-]{1,128}');
    const target = name === undefined ? rounds.metaSplit : await rounds.dataset(name);
    if ('ok' in target) return c.json(errorBody(target.code, target.message), target.status);
    const unit = await rounds.unit(session.account, target);
    return c.json({ ...unit, shard: { ...unit.shard, split: name === undefined ? 'train' : 'public' }, rules: { max_relative_norm: config.maxRelativeNorm, max_density: config.maxDensity } });
  });

  app.get('/datasets/:name/versions/:head/shards/:index', async (c) => {
    const { name, head } = c.req.param();
    if (!DATASET_RE.test(name)) throw new ApiError(400, 'bad_name', 'a dataset name matches [A-Za-z0-9_.:-]{1,128}');
    const target = await rounds.dataset(name);
    if ('ok' in target) return c.json(errorBody(target.code, target.message), target.status);
    const block = isHash(head) ? await index.block(head) : undefined;
    if (block?.slot !== `D/${name}`) throw new ApiError(404, 'not_found', `${head} is no block of dataset ${name}`);
    const docs = await target.docs(block.hash);
    const count = Math.ceil(docs.length / config.shardDocs);
    const raw = c.req.param('index');
    if (!/^\d{1,9}$/.test(raw) || Number(raw) >= count) throw new ApiError(404, 'not_found', `shards of ${name} at ${head} are numbered 0 to ${count - 1}`);
    const { body, shard } = shardBody(docs, Number(raw), config.shardDocs);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'application/json', ETag: `"${shard.sha256}"`, 'Cache-Control': 'public, max-age=31536000, immutable' });
  });

  app.post('/rounds/:id/deltas', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    const raw = c.req.param('id');
    if (!/^\d{1,15}$/.test(raw)) throw new ApiError(400, 'bad_id', 'a round id is a positive integer');
    const slot = await limiter.take(session.account);
    if (!slot.ok) return c.json(errorBody('rate_limited', `at most ${config.rateLimit.max} submissions per ${config.rateLimit.windowMs / 1000} s`), 429, { 'Retry-After': String(Math.ceil(slot.retryAfterMs / 1000)) });
    const body = await readBody(c.req.raw, config.maxDeltaBytes);
    const r = await rounds.submit(session.account, Number(raw), body);
    if (!r.ok) return c.json(errorBody(r.code, r.message), r.status);
    judging.roundsDue();
    return c.json({ id: r.id, round: Number(raw), status: 'submitted' }, 202, { Location: `/v1/rounds/${raw}` });
  });

  app.get('/rounds/:id', async (c) => {
    const raw = c.req.param('id');
    if (!/^\d{1,15}$/.test(raw)) throw new ApiError(400, 'bad_id', 'a round id is a positive integer');
    const r = await roundStore.round(Number(raw));
    if (r === undefined) throw new ApiError(404, 'not_found', `no round ${raw}`);
    return c.json(await roundView(r, roundStore, config.rounds));
  });

  return app;
}

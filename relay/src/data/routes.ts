import type { Hash } from '@blyan/block';
import { type ReviewItem, TIERS, type Tier, type UploadView } from '@blyan/data';
import { type Context, Hono } from 'hono';
import type { Accounts } from '../accounts/accounts.ts';
import { requireSession } from '../auth/session.ts';
import { NO_EVALUATOR } from '../contributions/judging.ts';
import { ApiError, errorBody } from '../server/api-error.ts';
import { intParam } from '../server/params.ts';
import { readBody, readJson } from '../server/read-body.ts';
import type { IndexStore } from '../store/index-store.ts';
import { type UploadInfo, checkUpload, storeUpload } from './intake.ts';
import { castVote } from './review.ts';
import type { Upload } from './store.ts';
import { summarize, uploadView } from './views.ts';

const NAME_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const FIELD_MAX = 200;

function nameParam(raw: string): string {
  if (!NAME_RE.test(raw)) throw new ApiError(400, 'bad_name', 'a dataset name matches [A-Za-z0-9_.:-]{1,128}');
  return raw;
}

/** `source` and `licence` of an upload: required, printable, at most 200 characters. */
function infoOf(c: Context, name: string): UploadInfo {
  const field = (k: 'source' | 'licence') => {
    const v = c.req.query(k)?.trim();
    if (v === undefined || v.length === 0 || v.length > FIELD_MAX || /[\u0000-\u001f]/.test(v)) {
      throw new ApiError(400, 'bad_query', `${k} is required: 1 to ${FIELD_MAX} printable characters (where the text comes from, and under which licence)`);
    }
    return v;
  };
  return { name, source: field('source'), licence: field('licence') };
}

/** Uploads (L0 on the request, L1 and appending in the data worker), datasets, documents, review samples and votes. */
export function dataRoutes(accounts: Accounts, index: IndexStore): Hono {
  const app = new Hono();
  const { auth, config, data } = accounts;
  const { store, worker, limiter } = data;
  const view = (u: Upload) => uploadView(store, index, u);

  /** Every dataset's head block in the current version: read once per request, however many datasets it shows. */
  const datasetHeads = async (): Promise<Record<string, Hash>> => {
    const meta = await index.metaHead();
    return meta === null ? {} : index.datasetHeads((await index.versionOf(meta))!);
  };
  const datasetOf = async (name: string, heads: Record<string, Hash>) => {
    const uploads: UploadView[] = await Promise.all((await store.uploadsOf(name)).map(view));
    return { summary: summarize(name, heads[name] ?? null, uploads), uploads };
  };

  app.get('/datasets/config', (c) =>
    c.json({
      max_upload_bytes: data.config.maxUploadBytes,
      rate_limit: data.config.rateLimit,
      limits: data.config.limits,
      tiers: data.config.tiers,
      hidden_fraction: data.config.hiddenFraction,
      review: { sample_size: data.config.sampleSize, votes_to_settle: data.config.votesToSettle, max_drop_share: data.config.maxDropShare, credit_per_vote: data.config.creditPerVote },
    }),
  );

  app.post('/datasets/:name/uploads', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    const info = infoOf(c, nameParam(c.req.param('name')));
    if ((await accounts.judging.evaluator(await index.metaHead())) === null) throw new ApiError(503, 'no_evaluator', NO_EVALUATOR);
    if ((await store.openUploads(session.account)) >= data.config.maxOpen) {
      throw new ApiError(429, 'too_many_open', `at most ${data.config.maxOpen} uploads of one account may be in scoring or review at once`);
    }
    const slot = await limiter.take(session.account);
    if (!slot.ok) {
      return c.json(errorBody('rate_limited', `at most ${data.config.rateLimit.max} uploads per ${data.config.rateLimit.windowMs / 60_000} minutes`), 429, {
        'Retry-After': String(Math.ceil(slot.retryAfterMs / 1000)),
      });
    }
    const body = await readBody(c.req.raw, data.config.maxUploadBytes);
    const taken = await store.serially(async () => {
      const intake = await checkUpload(store, data.secret, data.config, body);
      return intake.ok ? { ok: true as const, id: await storeUpload(store, info, session.account, body, intake, config.now()) } : intake;
    });
    if (!taken.ok) return c.json({ ...errorBody('nothing_accepted', 'the prefilter refused every document of the upload'), verdicts: taken.verdicts }, 422);
    const id = taken.id;
    worker.enqueue(id);
    return c.json(await view((await store.get(id))!), 202, { Location: `/v1/uploads/${id}` });
  });

  app.get('/uploads/:id', async (c) => {
    const raw = c.req.param('id');
    const u = /^\d{1,15}$/.test(raw) ? await store.get(Number(raw)) : undefined;
    if (u === undefined) throw new ApiError(404, 'not_found', `no upload ${raw}`);
    return c.json(await view(u));
  });

  app.get('/datasets', async (c) => {
    const heads = await datasetHeads();
    return c.json({ datasets: await Promise.all((await store.names()).map(async (n) => (await datasetOf(n, heads)).summary)) });
  });

  app.get('/datasets/:name', async (c) => {
    const name = nameParam(c.req.param('name'));
    const d = await datasetOf(name, await datasetHeads());
    if (d.uploads.length === 0) throw new ApiError(404, 'not_found', `no dataset ${name}`);
    return c.json({ ...d.summary, uploads: d.uploads });
  });

  app.get('/datasets/:name/documents', async (c) => {
    const name = nameParam(c.req.param('name'));
    const raw = c.req.query('tier');
    const tiers: readonly Tier[] = raw === undefined ? TIERS : raw.split(',').map((t) => {
      if (!(TIERS as readonly string[]).includes(t)) throw new ApiError(400, 'bad_query', `tier must be among ${TIERS.join(', ')}`);
      return t as Tier;
    });
    const offset = intParam(c.req.query('offset'), 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c.req.query('limit'), 'limit', 100, 1, 1000);
    return c.json({ name, ...(await store.trainingPage(name, tiers, offset, limit)) });
  });

  app.get('/review', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    const r = await store.reviewable(session.account);
    if (r === undefined) throw new ApiError(404, 'nothing_to_review', 'no sampled document of anyone else is waiting for your vote');
    const item: ReviewItem = { upload: r.upload, name: r.name, doc: r.sha256, text: (await store.texts([r.sha256])).get(r.sha256)! };
    return c.json(item);
  });

  app.post('/votes', async (c) => {
    const session = await requireSession(c, auth, config.siwe.uri);
    const body = await readJson(c.req.raw, 4096, new ApiError(400, 'malformed_vote', 'body must be a signed vote as JSON'));
    const r = await castVote(data.review, session.account, body);
    if (!r.ok) return c.json(errorBody(r.code, r.message), r.status);
    if (r.upload === 'appending') worker.enqueue((body as { upload: number }).upload);
    return c.json(r, 201);
  });

  return app;
}

import type { Hash } from '@blyan/block';
import { Hono } from 'hono';
import type { IndexStore } from '../store/index-store.ts';
import { ApiError } from './api-error.ts';
import type { AppDeps } from './deps.ts';
import { hashParam } from './params.ts';

const SLOT_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

async function currentMeta(index: IndexStore): Promise<{ meta: Hash; version: Hash }> {
  const meta = await index.metaHead();
  if (meta === null) throw new ApiError(404, 'empty_chain', 'the meta chain has no blocks yet');
  return { meta, version: (await index.versionOf(meta))! };
}

async function metaAt(index: IndexStore, raw: string): Promise<{ meta: Hash; version: Hash }> {
  const meta = hashParam(raw, 'meta');
  const version = await index.versionOf(meta);
  if (version !== undefined) return { meta, version };
  if (await index.block(meta)) throw new ApiError(400, 'not_meta', `${meta} is not a meta block`);
  throw new ApiError(404, 'not_found', `no meta block ${meta}`);
}

/** Chain state: health, heads, the ParamIndex (now or at a meta block) and slot histories. */
export function chainRoutes({ index }: AppDeps): Hono {
  const app = new Hono();

  app.get('/health', async (c) => {
    const counts = await index.counts();
    return c.json({ ok: true, blocks: counts.A + counts.B + counts.D, meta_head: await index.metaHead() });
  });

  app.get('/heads', async (c) => {
    const counts = await index.counts();
    const meta = await index.metaHead();
    const version = meta === null ? null : (await index.versionOf(meta))!;
    return c.json({
      meta_head: meta,
      version,
      chains: {
        A: { count: counts.A, head: meta },
        B: { count: counts.B, heads: version === null ? {} : await index.paramIndex(version) },
        D: { count: counts.D, heads: version === null ? {} : await index.datasetHeads(version) },
      },
    });
  });

  app.get('/params', async (c) => {
    const raw = c.req.query('meta');
    if (raw === undefined) {
      const { meta, version } = await currentMeta(index);
      return c.json({ meta, version, slots: await index.paramIndex(version) });
    }
    const { meta, version } = await metaAt(index, raw);
    return c.json({ meta, version, slots: await index.paramIndexAt(meta) });
  });

  app.get('/params/:name/history', async (c) => {
    const name = c.req.param('name');
    if (!SLOT_RE.test(name)) throw new ApiError(400, 'bad_slot', 'slot names match [A-Za-z0-9_.:-]{1,128}');
    const raw = c.req.query('version');
    const version = raw === undefined ? (await currentMeta(index)).version : hashParam(raw, 'version');
    if (raw !== undefined && (await index.versionOf(version)) !== version) {
      throw new ApiError(404, 'not_found', `no model version ${version}`);
    }
    return c.json({ version, name, history: await index.history(version, name) });
  });

  return app;
}

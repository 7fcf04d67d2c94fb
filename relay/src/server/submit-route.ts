import { MAX_HEADER_BYTES } from '@blyan/block';
import { Hono } from 'hono';
import { errorBody } from './api-error.ts';
import type { AppDeps } from './deps.ts';
import { readBody } from './read-body.ts';
import { decodeWireBlock } from './wire-block.ts';

/** POST /blocks: the wire body of `encodeBlock`; 201 when new, 200 when the same block is already stored. */
export function submitRoute({ ledger, maxPayloadBytes }: AppDeps): Hono {
  const app = new Hono();
  const limit = 4 + MAX_HEADER_BYTES + maxPayloadBytes;

  app.post('/blocks', async (c) => {
    const r = await ledger.submit(decodeWireBlock(await readBody(c.req.raw, limit)));
    if (!r.ok) return c.json(errorBody(r.code, r.message), r.status);
    return c.json({ hash: r.hash, seq: r.seq }, r.created ? 201 : 200, { Location: `/v1/blocks/${r.hash}` });
  });

  return app;
}

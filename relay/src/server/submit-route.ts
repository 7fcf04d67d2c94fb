import { type Block, HeaderError, MAX_HEADER_BYTES, decodeBlock } from '@blyan/block';
import { Hono } from 'hono';
import { ApiError, errorBody } from './api-error.ts';
import type { AppDeps } from './deps.ts';
import { readBody } from './read-body.ts';

function decode(body: Uint8Array): Block {
  try {
    return decodeBlock(body);
  } catch (e) {
    if (e instanceof HeaderError) throw new ApiError(400, 'malformed_block', e.message);
    throw e;
  }
}

/** POST /blocks: the wire body of `encodeBlock`; 201 when new, 200 when the same block is already stored. */
export function submitRoute({ ledger, maxPayloadBytes }: AppDeps): Hono {
  const app = new Hono();
  const limit = 4 + MAX_HEADER_BYTES + maxPayloadBytes;

  app.post('/blocks', async (c) => {
    const r = await ledger.submit(decode(await readBody(c.req.raw, limit)));
    if (!r.ok) return c.json(errorBody(r.code, r.message), r.status);
    return c.json({ hash: r.hash, seq: r.seq }, r.created ? 201 : 200, { Location: `/v1/blocks/${r.hash}` });
  });

  return app;
}

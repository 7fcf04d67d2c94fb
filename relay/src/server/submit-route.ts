import { MAX_HEADER_BYTES } from '@blyan/block';
import { Hono } from 'hono';
import { ApiError, errorBody } from './api-error.ts';
import type { AppDeps } from './deps.ts';
import { readBody } from './read-body.ts';
import { decodeWireBlock } from './wire-block.ts';

const OCTETS = 'application/octet-stream';

/** The media type of a Content-Type header, lowercased, without parameters. */
const mediaType = (header: string | undefined) => header?.split(';')[0]!.trim().toLowerCase();

/**
 * POST /blocks: the wire body of `encodeBlock`, as application/octet-stream (415 otherwise, before
 * the body is read); 201 when new, 200 when the same block is already stored. It carries no
 * verdict, so only an authority of the block's meta block can move a head this way.
 */
export function submitRoute({ ledger, maxPayloadBytes }: AppDeps): Hono {
  const app = new Hono();
  const limit = 4 + MAX_HEADER_BYTES + maxPayloadBytes;

  app.post('/blocks', async (c) => {
    const type = mediaType(c.req.header('content-type'));
    if (type !== OCTETS) throw new ApiError(415, 'unsupported_media_type', `a block is sent as ${OCTETS}, not ${type ?? 'a body without Content-Type'}`);
    const r = await ledger.submit(decodeWireBlock(await readBody(c.req.raw, limit)));
    if (!r.ok) return c.json(errorBody(r.code, r.message), r.status);
    return c.json({ hash: r.hash, seq: r.seq }, r.created ? 201 : 200, { Location: `/v1/blocks/${r.hash}` });
  });

  return app;
}

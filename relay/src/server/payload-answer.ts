import type { Hash } from '@blyan/block';
import { parseRange } from './range.ts';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const OCTETS = 'application/octet-stream';

/** The request headers a payload answer depends on. */
export interface PayloadRequest {
  ifNoneMatch?: string;
  ifRange?: string;
  range?: string;
}

/**
 * What to answer for a payload of `size` bytes of block `hash`: 304 (not modified), 416 (range
 * not satisfiable; the caller writes the error body), or 200 / 206 with the byte span [start, end)
 * to send. `headers` are complete but for CORS and the 416 body's type.
 */
export type PayloadAnswer =
  | { status: 304; headers: Record<string, string> }
  | { status: 416; headers: Record<string, string> }
  | { status: 200 | 206; headers: Record<string, string>; start: number; end: number };

/** If-None-Match: `*` or a list of entity tags, weak or strong. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/**
 * RFC 9110 conditional and range semantics for an immutable payload whose strong ETag is the block
 * hash: If-None-Match first, then Range, honoured only when If-Range is absent or names this ETag.
 * Pure: the Hono route and the node:http fast path answer through it alike.
 */
export function answerPayload(hash: Hash, size: number, req: PayloadRequest): PayloadAnswer {
  const etag = `"${hash}"`;
  const headers: Record<string, string> = { ETag: etag, 'Cache-Control': IMMUTABLE, 'Accept-Ranges': 'bytes' };
  if (etagMatches(req.ifNoneMatch, etag)) return { status: 304, headers };
  const range = req.ifRange === undefined || req.ifRange === etag ? parseRange(req.range, size) : { kind: 'full' as const };
  if (range.kind === 'unsatisfiable') return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}` } };
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size];
  headers['Content-Type'] = OCTETS;
  headers['Content-Length'] = String(end - start);
  if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
  return { status: range.kind === 'partial' ? 206 : 200, headers, start, end };
}

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Hash } from '@blyan/block';
import type { CachedObjectStore } from '../store/cached-object-store.ts';
import type { IndexStore } from '../store/index-store.ts';
import { Lru } from '../store/lru.ts';
import { answerPayload } from './payload-answer.ts';

/** `/v1/blocks/<hash>/payload`, with or without a query string. */
const PAYLOAD_PATH = /^\/v1\/blocks\/([0-9a-f]{64})\/payload(?:\?|$)/;
/** Block hash → payload hash and size, kept for this many blocks (a few hundred bytes each). */
const BLOCKS_KEPT = 100_000;
/** How long a client may reuse a redirect: a day, so that a moved CDN is picked up. */
const REDIRECT_CACHE = 'public, max-age=86400';

/** What the fast path knows of a block: its payload's hash and size. */
export interface KnownPayload {
  payload: Hash;
  size: number;
}

/** How the fast path answers a payload request: from memory, or by a redirect. */
export interface PayloadResponder {
  /** Readies `known` to be answered (reads the payload in, say); false when this responder cannot answer for it. */
  prepare(known: KnownPayload): Promise<boolean>;
  /** Writes the whole response, headers `cors` included; false (nothing written) to leave it to the Hono app. */
  respond(req: IncomingMessage, res: ServerResponse, block: Hash, known: KnownPayload, cors: Record<string, string>): boolean;
}

/**
 * Payloads kept in memory (CachedObjectStore: hashed once as they are read in) sent as they are:
 * no copy, a range a view of the kept Buffer. A 416 and payloads too large to keep go to Hono.
 */
export function fromMemory(objects: CachedObjectStore): PayloadResponder {
  return {
    prepare: async (known) => (await objects.payload(known.payload)) !== undefined,
    respond(req, res, block, known, cors) {
      const bytes = objects.peek(known.payload);
      if (bytes === undefined) return false;
      const h = req.headers;
      const a = answerPayload(block, known.size, { ifNoneMatch: h['if-none-match'], ifRange: h['if-range'] as string | undefined, range: h.range });
      if (a.status === 416) return false;
      res.writeHead(a.status, { ...a.headers, ...cors, Vary: 'Origin' });
      if (a.status === 304 || req.method === 'HEAD') res.end();
      else res.end(Buffer.from(bytes.buffer, bytes.byteOffset + a.start, a.end - a.start));
      return true;
    },
  };
}

/**
 * 307 to `base`/ab/cdef… (the payload's hash; the layout of both the objects/ folder and the
 * bucket): a public bucket or the CDN in front of it serves the bytes, Range and all, and the
 * relay only names where. The client verifies what it gets against the block's header, so the
 * bucket and the CDN need not be trusted.
 */
export function toUrl(base: string): PayloadResponder {
  const root = base.replace(/\/+$/, '');
  return {
    prepare: async () => true,
    respond(_req, res, _block, known, cors) {
      res.writeHead(307, { Location: `${root}/${known.payload.slice(0, 2)}/${known.payload.slice(2)}`, 'Cache-Control': REDIRECT_CACHE, ...cors, Vary: 'Origin' });
      res.end();
      return true;
    },
  };
}

export interface FastPathDeps {
  index: IndexStore;
  responder: PayloadResponder;
  /** The CORS headers of a response to a request from `origin`. */
  cors: (origin: string | undefined) => Record<string, string>;
}

/**
 * GET and HEAD of a block's payload answered with node:http directly, before the Hono app: no
 * Request/Response objects and, once the block is known, no promise and no store lookup. The
 * first request for a block looks it up and lets the responder prepare it; everything else
 * (other routes and methods, unknown blocks, whatever the responder leaves, errors) goes to
 * `next`, the Hono app, which answers payloads with the same semantics (`answerPayload`).
 */
export function payloadFastPath({ index, responder, cors }: FastPathDeps, next: RequestListener): RequestListener {
  const blocks = new Lru<Hash, KnownPayload>(BLOCKS_KEPT);

  const lookup = async (hash: Hash): Promise<KnownPayload | undefined> => {
    const b = await index.block(hash);
    if (b === undefined) return undefined;
    const known = { payload: b.header.payload_hash, size: b.header.payload_size };
    if (!(await responder.prepare(known))) return undefined;
    blocks.set(hash, known);
    return known;
  };

  return (req, res) => {
    const m = req.method === 'GET' || req.method === 'HEAD' ? PAYLOAD_PATH.exec(req.url ?? '') : null;
    if (m === null) return next(req, res);
    const hash = m[1] as Hash;
    const respond = (known: KnownPayload) => responder.respond(req, res, hash, known, cors(req.headers.origin));
    const known = blocks.get(hash);
    if (known !== undefined && respond(known)) return;
    lookup(hash).then(
      (k) => (k !== undefined && respond(k)) || next(req, res),
      () => next(req, res),
    );
  };
}

import { type Hash, tileProof, tileRange } from '@blyan/block';
import { Hono } from 'hono';
import { CACHE_OBJECT_MAX } from '../store/cached-object-store.ts';
import type { IndexStore, BlockInfo } from '../store/index-store.ts';
import { ApiError, errorBody } from './api-error.ts';
import type { AppDeps } from './deps.ts';
import { chainParam, hashParam, intParam } from './params.ts';
import { parseRange } from './range.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const OCTETS = 'application/octet-stream';
const MAX_LIST = 1000;
/** Payloads up to this size are sent as one buffer (from the payload cache), larger ones streamed. */
const INLINE_MAX = CACHE_OBJECT_MAX;

const noBlock = (hash: Hash) => new ApiError(404, 'not_found', `no block ${hash}`);

async function findBlock(index: IndexStore, raw: string): Promise<BlockInfo> {
  const hash = hashParam(raw, 'block hash');
  const b = await index.block(hash);
  if (!b) throw noBlock(hash);
  return b;
}

const blockJson = (b: BlockInfo): BlockInfo => ({ hash: b.hash, seq: b.seq, version: b.version, slot: b.slot, header: b.header, verdict: b.verdict });

/** If-None-Match: `*` or a list of entity tags, weak or strong. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

function splitLeaves(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 32) out.push(bytes.subarray(i, i + 32));
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Reading blocks: the acceptance-ordered list, headers, verdicts, payloads (ranges, ETags), leaves and tiles. */
export function blockRoutes({ index, objects }: AppDeps): Hono {
  const app = new Hono();

  app.get('/blocks', async (c) => {
    const after = intParam(c.req.query('after'), 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c.req.query('limit'), 'limit', 100, 1, MAX_LIST);
    const blocks = await index.list(after, limit, chainParam(c.req.query('chain')));
    return c.json({ blocks: blocks.map(blockJson), next: blocks.at(-1)?.seq ?? after });
  });

  app.get('/blocks/:hash', async (c) => c.json(blockJson(await findBlock(index, c.req.param('hash')))));

  app.get('/blocks/:hash/verdict', async (c) => {
    const hash = hashParam(c.req.param('hash'), 'block hash');
    const verdict = await index.verdict(hash);
    if (verdict) return c.json(verdict, 200, { 'Cache-Control': IMMUTABLE });
    if (await index.block(hash)) throw new ApiError(404, 'no_verdict', `block ${hash} was signed by an authority; it has no verdict`);
    throw noBlock(hash);
  });

  app.get('/blocks/:hash/payload', async (c) => {
    const b = await findBlock(index, c.req.param('hash'));
    const size = b.header.payload_size;
    const etag = `"${b.hash}"`;
    const headers: Record<string, string> = { ETag: etag, 'Cache-Control': IMMUTABLE, 'Accept-Ranges': 'bytes' };
    if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
    const ifRange = c.req.header('if-range');
    const range = ifRange === undefined || ifRange === etag ? parseRange(c.req.header('range'), size) : { kind: 'full' as const };
    if (range.kind === 'unsatisfiable') {
      return c.json(errorBody('range_not_satisfiable', `payload is ${size} bytes`), 416, { ...headers, 'Content-Range': `bytes */${size}` });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size];
    headers['Content-Type'] = OCTETS;
    headers['Content-Length'] = String(end - start);
    if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
    const status = range.kind === 'partial' ? 206 : 200;
    if (c.req.method === 'HEAD') return c.body(null, status, headers);
    if (size <= INLINE_MAX) return c.body(await objects.read(b.header.payload_hash, start, end), status, headers);
    return c.body(await objects.stream(b.header.payload_hash, start, end), status, headers);
  });

  app.get('/blocks/:hash/leaves', async (c) => {
    const hash = hashParam(c.req.param('hash'), 'block hash');
    const leaves = await index.leaves(hash);
    if (!leaves) throw noBlock(hash);
    return c.body(leaves, 200, {
      'Content-Type': OCTETS,
      'Cache-Control': IMMUTABLE,
      'Blyan-Tile-Count': String(leaves.length / 32),
    });
  });

  app.get('/blocks/:hash/tiles/:i', async (c) => {
    const b = await findBlock(index, c.req.param('hash'));
    const raw = c.req.param('i');
    if (!/^\d+$/.test(raw)) throw new ApiError(400, 'bad_tile', 'tile index must be a non-negative integer');
    const leaves = splitLeaves((await index.leaves(b.hash))!);
    const i = Number(raw);
    if (i >= leaves.length) throw new ApiError(404, 'unknown_tile', `block ${b.hash} has ${leaves.length} tiles`);
    const [start, end] = tileRange(i, b.header.payload_size, b.header.tile_size);
    const tile = await objects.read(b.header.payload_hash, start, end);
    return c.body(tile, 200, {
      'Content-Type': OCTETS,
      'Cache-Control': IMMUTABLE,
      'Blyan-Proof': tileProof(leaves, i).map(hex).join(','),
      'Blyan-Tile-Count': String(leaves.length),
    });
  });

  return app;
}

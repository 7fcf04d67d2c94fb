import { type Hash, tileProof, tileRange } from '@blyan/block';
import { Hono } from 'hono';
import type { IndexStore, BlockInfo } from '../store/index-store.ts';
import { ApiError, errorBody } from './api-error.ts';
import type { AppDeps } from './deps.ts';
import { chainParam, hashParam, intParam } from './params.ts';
import { IMMUTABLE, OCTETS, answerPayload } from './payload-answer.ts';

const MAX_LIST = 1000;

const noBlock = (hash: Hash) => new ApiError(404, 'not_found', `no block ${hash}`);

async function findBlock(index: IndexStore, raw: string): Promise<BlockInfo> {
  const hash = hashParam(raw, 'block hash');
  const b = await index.block(hash);
  if (!b) throw noBlock(hash);
  return b;
}

const blockJson = (b: BlockInfo): BlockInfo => ({ hash: b.hash, seq: b.seq, version: b.version, slot: b.slot, header: b.header, verdict: b.verdict });

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
    const a = answerPayload(b.hash, size, { ifNoneMatch: c.req.header('if-none-match'), ifRange: c.req.header('if-range'), range: c.req.header('range') });
    if (a.status === 304) return c.body(null, 304, a.headers);
    if (a.status === 416) return c.json(errorBody('range_not_satisfiable', `payload is ${size} bytes`), 416, a.headers);
    if (c.req.method === 'HEAD') return c.body(null, a.status, a.headers);
    const kept = await objects.payload(b.header.payload_hash);
    if (kept !== undefined) return c.body(kept.subarray(a.start, a.end), a.status, a.headers);
    return c.body(await objects.stream(b.header.payload_hash, a.start, a.end), a.status, a.headers);
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

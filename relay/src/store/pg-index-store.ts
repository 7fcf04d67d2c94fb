import { type BlockHeader, type ChainId, type Hash, blockHash } from '@blyan/block';
import { type Accepted, type ChainView, META_SLOT, type SignedVerdict, slotOf } from '@blyan/chain';
import type pg from 'pg';
import { type BlockInfo, type ChainCounts, type HistoryEntry, type IndexStore, StaleHeadError } from './index-store.ts';
import { type BlockRow, toStored, verdictOf } from './block-row.ts';
import { Lru } from './lru.ts';
import { openPgPool } from './pg-pool.ts';
import { APPEND_LOCK } from './pg-schema.ts';

interface ViewRow {
  hash: Hash;
  chain: ChainId;
  version: Hash;
  header: string;
}

const BLOCK_COLUMNS = 'seq, hash, version, slot, header, verdict FROM blocks';
const NO_UNTIL = 2 ** 31 - 1;
const BLOCK_CACHE = 4096;

/**
 * The rows `validateBlock` reads for one header, fetched before it runs: the block itself (is it a
 * duplicate?), its prev and dependencies, their model versions, the meta head, and the head of the
 * block's slot in each version a dependency names. Any other lookup answers "absent", which no rule
 * asks for; a head that moves after the fetch is caught by `append`'s compare-and-swap.
 */
class PrefetchedView implements ChainView {
  constructor(
    private readonly rows: Map<Hash, ViewRow & { parsed: BlockHeader }>,
    private readonly meta: Hash | null,
    private readonly heads: Map<string, Hash>,
  ) {}

  header(hash: Hash): BlockHeader | undefined {
    return this.rows.get(hash)?.parsed;
  }

  versionOf(metaHash: Hash): Hash | undefined {
    const row = this.rows.get(metaHash);
    return row?.chain === 'A' ? row.version : undefined;
  }

  metaHead(): Hash | null {
    return this.meta;
  }

  slotHead(version: Hash, slot: string): Hash | null {
    return this.heads.get(`${version}\n${slot}`) ?? null;
  }
}

/**
 * The index on PostgreSQL, shared by any number of relay replicas. `append` writes a block, its
 * leaves and verdict and moves its head in one transaction; the head move is a compare-and-swap
 * (`UPDATE … WHERE hash = prev`), and appends take one advisory lock so that `seq` follows commit
 * order across replicas (a reader paging by `seq` never misses a block committed late).
 */
export class PgIndexStore implements IndexStore {
  /** Committed block rows never change (the verdict is written with the block), so found ones are kept. */
  private readonly blocks = new Lru<Hash, BlockInfo>(BLOCK_CACHE);

  /** `pool` is the process's one pool (openPgPool); the index owns it: close() ends it, so close the index last. */
  constructor(readonly pool: pg.Pool) {}

  /** Connects to `url` (postgres://…); read-write opens migrate the schema, read-only opens require it. */
  static async open(url: string, mode: 'readwrite' | 'readonly', max = 10): Promise<PgIndexStore> {
    return new PgIndexStore(await openPgPool(url, max, mode));
  }

  private async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  async view(header: BlockHeader): Promise<ChainView> {
    const meta = await this.metaHead();
    const wanted = [blockHash(header), ...header.depends_on, ...(header.prev === null ? [] : [header.prev]), ...(meta === null ? [] : [meta])];
    const found = await this.rows<ViewRow>('SELECT hash, chain, version, header FROM blocks WHERE hash = ANY($1)', [wanted]);
    const rows = new Map(found.map((r) => [r.hash, { ...r, parsed: JSON.parse(r.header) as BlockHeader }]));
    const versions = [...new Set(found.filter((r) => r.chain === 'A').map((r) => r.version))];
    const heads = await this.rows<{ version: Hash; hash: Hash }>('SELECT version, hash FROM heads WHERE slot = $1 AND version = ANY($2)', [slotOf(header), versions]);
    return new PrefetchedView(rows, meta, new Map(heads.map((h) => [`${h.version}\n${slotOf(header)}`, h.hash])));
  }

  async append(a: Accepted, leaves: Uint8Array): Promise<number> {
    const h = a.header;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
      const inserted = await client.query<{ seq: number }>(
        `INSERT INTO blocks (hash, chain, version, slot, idx, author, created_at, payload_hash, header, leaves, verdict)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING seq`,
        [a.hash, h.chain, a.version, a.slot, h.index, h.author, h.created_at, h.payload_hash, JSON.stringify(h), Buffer.from(leaves), a.verdict && JSON.stringify(a.verdict)],
      );
      const moved =
        inserted.rowCount === 1 &&
        (
          a.slot === META_SLOT
            ? h.prev === null
              ? await client.query('INSERT INTO meta_head (hash) VALUES ($1) ON CONFLICT DO NOTHING', [a.hash])
              : await client.query('UPDATE meta_head SET hash = $1 WHERE hash = $2', [a.hash, h.prev])
            : h.prev === null
              ? await client.query('INSERT INTO heads (version, slot, chain, hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [a.version, a.slot, h.chain, a.hash])
              : await client.query('UPDATE heads SET hash = $1 WHERE version = $2 AND slot = $3 AND hash = $4', [a.hash, a.version, a.slot, h.prev])
        ).rowCount === 1;
      if (!moved) {
        await client.query('ROLLBACK');
        throw new StaleHeadError(`head of ${a.slot} is no longer ${h.prev ?? 'empty'}`);
      }
      await client.query('COMMIT');
      return inserted.rows[0]!.seq;
    } catch (e) {
      if (!(e instanceof StaleHeadError)) await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async block(hash: Hash): Promise<BlockInfo | undefined> {
    const hit = this.blocks.get(hash);
    if (hit !== undefined) return hit;
    const [row] = await this.rows<BlockRow>(`SELECT ${BLOCK_COLUMNS} WHERE hash = $1`, [hash]);
    const found = row && toStored(row);
    if (found !== undefined) this.blocks.set(hash, found);
    return found;
  }

  async verdict(hash: Hash): Promise<SignedVerdict | undefined> {
    const [row] = await this.rows<{ verdict: string | null }>('SELECT verdict FROM blocks WHERE hash = $1', [hash]);
    return row?.verdict == null ? undefined : verdictOf(row.verdict)!;
  }

  async leaves(hash: Hash): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const [row] = await this.rows<{ leaves: Buffer }>('SELECT leaves FROM blocks WHERE hash = $1', [hash]);
    return row && new Uint8Array(row.leaves);
  }

  async metaHead(): Promise<Hash | null> {
    const [row] = await this.rows<{ hash: Hash }>('SELECT hash FROM meta_head');
    return row?.hash ?? null;
  }

  async versionOf(metaHash: Hash): Promise<Hash | undefined> {
    const [row] = await this.rows<{ version: Hash }>("SELECT version FROM blocks WHERE hash = $1 AND chain = 'A'", [metaHash]);
    return row?.version;
  }

  private async headsOf(version: Hash, chain: 'B' | 'D', prefix: number): Promise<Record<string, Hash>> {
    const out: Record<string, Hash> = {};
    for (const r of await this.rows<{ slot: string; hash: Hash }>('SELECT slot, hash FROM heads WHERE version = $1 AND chain = $2 ORDER BY slot', [version, chain])) {
      out[r.slot.slice(prefix)] = r.hash;
    }
    return out;
  }

  async paramIndex(version: Hash): Promise<Record<string, Hash>> {
    return this.headsOf(version, 'B', 0);
  }

  async datasetHeads(version: Hash): Promise<Record<string, Hash>> {
    return this.headsOf(version, 'D', 'D/'.length);
  }

  /** Seq bound of `metaHash`'s reign and its version, or throws if it is no meta block. */
  private async reign(metaHash: Hash): Promise<{ version: Hash; until: number }> {
    const [row] = await this.rows<{ version: Hash; until: number | null }>(
      `SELECT m.version, (SELECT n.seq FROM blocks n WHERE n.chain = 'A' AND n.seq > m.seq ORDER BY n.seq LIMIT 1) AS until
       FROM blocks m WHERE m.hash = $1 AND m.chain = 'A'`,
      [metaHash],
    );
    if (!row) throw new Error(`${metaHash} is not a meta block`);
    return { version: row.version, until: row.until ?? NO_UNTIL };
  }

  async paramIndexAt(metaHash: Hash): Promise<Record<string, Hash>> {
    const { version, until } = await this.reign(metaHash);
    const rows = await this.rows<{ slot: string; hash: Hash | null }>(
      `SELECT h.slot, (SELECT b.hash FROM blocks b WHERE b.version = h.version AND b.slot = h.slot AND b.seq < $1
         ORDER BY b.seq DESC LIMIT 1) AS hash
       FROM heads h WHERE h.version = $2 AND h.chain = 'B' ORDER BY h.slot`,
      [until, version],
    );
    const out: Record<string, Hash> = {};
    for (const r of rows) if (r.hash !== null) out[r.slot] = r.hash;
    return out;
  }

  async history(version: Hash, slot: string): Promise<HistoryEntry[]> {
    const rows = await this.rows<Omit<HistoryEntry, 'verdict'> & { verdict: string | null }>(
      `SELECT hash, seq, idx AS "index", author, created_at::float8 AS created_at, verdict
       FROM blocks WHERE version = $1 AND slot = $2 ORDER BY seq`,
      [version, slot],
    );
    return rows.map((r) => ({ ...r, verdict: verdictOf(r.verdict) }));
  }

  async at(metaHash: Hash, slot: string): Promise<Hash | null> {
    const { version, until } = await this.reign(metaHash);
    const [row] = await this.rows<{ hash: Hash }>('SELECT hash FROM blocks WHERE version = $1 AND slot = $2 AND seq < $3 ORDER BY seq DESC LIMIT 1', [version, slot, until]);
    return row?.hash ?? null;
  }

  async list(after: number, limit: number, chain?: ChainId): Promise<BlockInfo[]> {
    const rows =
      chain === undefined
        ? await this.rows<BlockRow>(`SELECT ${BLOCK_COLUMNS} WHERE seq > $1 ORDER BY seq LIMIT $2`, [after, limit])
        : await this.rows<BlockRow>(`SELECT ${BLOCK_COLUMNS} WHERE chain = $3 AND seq > $1 ORDER BY seq LIMIT $2`, [after, limit, chain]);
    return rows.map(toStored);
  }

  async counts(): Promise<ChainCounts> {
    const out: ChainCounts = { A: 0, B: 0, D: 0 };
    for (const r of await this.rows<{ chain: ChainId; n: number }>('SELECT chain, count(*)::int AS n FROM blocks GROUP BY chain')) out[r.chain] = r.n;
    return out;
  }

  async hasPayload(payloadHash: Hash): Promise<boolean> {
    return (await this.rows('SELECT 1 FROM blocks WHERE payload_hash = $1 LIMIT 1', [payloadHash])).length > 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

import type Database from 'better-sqlite3';
import type { BlockHeader, ChainId, Hash } from '@blyan/block';
import { type Accepted, type ChainView, META_SLOT, type SignedVerdict } from '@blyan/chain';
import { type BlockInfo, type ChainCounts, type HistoryEntry, type IndexStore, StaleHeadError } from './index-store.ts';
import { type BlockRow, toStored, verdictOf } from './block-row.ts';
import { Lru } from './lru.ts';
import { openSqlite } from './sqlite-file.ts';

const SCHEMA_VERSION = 2;

/** The evaluator's verdict that let a block in, by the block's seq (schema 2). */
const VERDICTS = 'CREATE TABLE IF NOT EXISTS verdicts (seq INTEGER PRIMARY KEY, verdict TEXT NOT NULL);';

const SCHEMA = `
CREATE TABLE blocks (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  chain TEXT NOT NULL,
  version TEXT NOT NULL,
  slot TEXT NOT NULL,
  idx INTEGER NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  payload_hash TEXT NOT NULL,
  header TEXT NOT NULL
);
CREATE INDEX blocks_by_slot ON blocks (version, slot, seq);
CREATE INDEX blocks_by_chain ON blocks (chain, seq);
CREATE INDEX blocks_by_payload ON blocks (payload_hash);
CREATE TABLE tile_leaves (seq INTEGER PRIMARY KEY, leaves BLOB NOT NULL);
CREATE TABLE heads (
  version TEXT NOT NULL,
  slot TEXT NOT NULL,
  chain TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (version, slot)
) WITHOUT ROWID;
CREATE TABLE meta_head (one INTEGER PRIMARY KEY CHECK (one = 1), hash TEXT NOT NULL);
CREATE TABLE counts (chain TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counts VALUES ('A', 0), ('B', 0), ('D', 0);
${VERDICTS}
`;

type HistoryRow = Omit<HistoryEntry, 'verdict'> & { verdict: string | null };

const BLOCK_COLUMNS = 'b.seq, b.hash, b.version, b.slot, b.header, v.verdict FROM blocks b LEFT JOIN verdicts v ON v.seq = b.seq';

const HEADER_CACHE = 4096;

function statements(db: Database.Database) {
  return {
    header: db.prepare<[string], { header: string }>('SELECT header FROM blocks WHERE hash = ?'),
    block: db.prepare<[string], BlockRow>(`SELECT ${BLOCK_COLUMNS} WHERE b.hash = ?`),
    verdict: db.prepare<[string], { verdict: string }>('SELECT v.verdict FROM blocks b JOIN verdicts v ON v.seq = b.seq WHERE b.hash = ?'),
    leaves: db.prepare<[string], { leaves: Buffer }>('SELECT l.leaves FROM blocks b JOIN tile_leaves l ON l.seq = b.seq WHERE b.hash = ?'),
    versionOf: db.prepare<[string], { version: Hash; seq: number }>("SELECT version, seq FROM blocks WHERE hash = ? AND chain = 'A'"),
    metaHead: db.prepare<[], { hash: Hash }>('SELECT hash FROM meta_head'),
    nextMetaSeq: db.prepare<[number], { seq: number }>("SELECT seq FROM blocks WHERE chain = 'A' AND seq > ? ORDER BY seq LIMIT 1"),
    slotHead: db.prepare<[string, string], { hash: Hash }>('SELECT hash FROM heads WHERE version = ? AND slot = ?'),
    heads: db.prepare<[string, string], { slot: string; hash: Hash }>('SELECT slot, hash FROM heads WHERE version = ? AND chain = ? ORDER BY slot'),
    lastBefore: db.prepare<[string, string, number], { hash: Hash }>(
      'SELECT hash FROM blocks WHERE version = ? AND slot = ? AND seq < ? ORDER BY seq DESC LIMIT 1',
    ),
    headsBefore: db.prepare<[number, string], { slot: string; hash: Hash | null }>(
      `SELECT h.slot, (SELECT b.hash FROM blocks b WHERE b.version = h.version AND b.slot = h.slot AND b.seq < ?
         ORDER BY b.seq DESC LIMIT 1) AS hash
       FROM heads h WHERE h.version = ? AND h.chain = 'B' ORDER BY h.slot`,
    ),
    history: db.prepare<[string, string], HistoryRow>(
      `SELECT b.hash, b.seq, b.idx AS "index", b.author, b.created_at, v.verdict
       FROM blocks b LEFT JOIN verdicts v ON v.seq = b.seq WHERE b.version = ? AND b.slot = ? ORDER BY b.seq`,
    ),
    list: db.prepare<[number, number], BlockRow>(`SELECT ${BLOCK_COLUMNS} WHERE b.seq > ? ORDER BY b.seq LIMIT ?`),
    listChain: db.prepare<[string, number, number], BlockRow>(`SELECT ${BLOCK_COLUMNS} WHERE b.chain = ? AND b.seq > ? ORDER BY b.seq LIMIT ?`),
    counts: db.prepare<[], { chain: ChainId; n: number }>('SELECT chain, n FROM counts'),
    hasPayload: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM blocks WHERE payload_hash = ? LIMIT 1'),
    insertBlock: db.prepare(
      `INSERT INTO blocks (hash, chain, version, slot, idx, author, created_at, payload_hash, header)
       VALUES (@hash, @chain, @version, @slot, @idx, @author, @created_at, @payload_hash, @header)`,
    ),
    insertLeaves: db.prepare('INSERT INTO tile_leaves (seq, leaves) VALUES (?, ?)'),
    insertVerdict: db.prepare('INSERT INTO verdicts (seq, verdict) VALUES (?, ?)'),
    insertHead: db.prepare('INSERT INTO heads (version, slot, chain, hash) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    moveHead: db.prepare('UPDATE heads SET hash = ? WHERE version = ? AND slot = ? AND hash = ?'),
    insertMetaHead: db.prepare('INSERT INTO meta_head (one, hash) VALUES (1, ?) ON CONFLICT DO NOTHING'),
    moveMetaHead: db.prepare('UPDATE meta_head SET hash = ? WHERE hash = ?'),
    bumpCount: db.prepare('UPDATE counts SET n = n + 1 WHERE chain = ?'),
  };
}

type Statements = ReturnType<typeof statements>;

/** The live synchronous view `validateBlock` reads; headers are immutable, so they are cached. */
class SqliteChainView implements ChainView {
  private readonly cache = new Map<Hash, BlockHeader>();

  constructor(private readonly s: Statements) {}

  header(hash: Hash): BlockHeader | undefined {
    const hit = this.cache.get(hash);
    if (hit) return hit;
    const row = this.s.header.get(hash);
    if (!row) return undefined;
    const header = JSON.parse(row.header) as BlockHeader;
    if (this.cache.size >= HEADER_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, header);
    return header;
  }

  versionOf(metaHash: Hash): Hash | undefined {
    return this.s.versionOf.get(metaHash)?.version;
  }

  metaHead(): Hash | null {
    return this.s.metaHead.get()?.hash ?? null;
  }

  slotHead(version: Hash, slot: string): Hash | null {
    return this.s.slotHead.get(version, slot)?.hash ?? null;
  }
}

/**
 * The embedded index: one SQLite file in WAL mode with synchronous=FULL, so a commit is durable
 * when `append` returns. A block's row, its leaves, its head move and the chain count are written
 * in one transaction: readers see all of a block or none of it.
 */
export class SqliteIndexStore implements IndexStore {
  private readonly s: Statements;
  private readonly chainView: SqliteChainView;
  private readonly appendTx: (a: Accepted, leaves: Uint8Array) => number;
  /** Committed block rows never change (the verdict is written with the block), so found ones are kept. */
  private readonly blocks = new Lru<Hash, BlockInfo>(HEADER_CACHE);

  private constructor(private readonly db: Database.Database) {
    this.s = statements(db);
    this.chainView = new SqliteChainView(this.s);
    this.appendTx = db.transaction((a: Accepted, leaves: Uint8Array) => this.write(a, leaves));
  }

  static open(path: string, mode: 'readwrite' | 'readonly'): SqliteIndexStore {
    return new SqliteIndexStore(openSqlite(path, mode, { what: 'index', sql: SCHEMA, version: SCHEMA_VERSION, migrations: { 1: VERDICTS } }));
  }

  private write(a: Accepted, leaves: Uint8Array): number {
    const h = a.header;
    const { lastInsertRowid } = this.s.insertBlock.run({
      hash: a.hash,
      chain: h.chain,
      version: a.version,
      slot: a.slot,
      idx: h.index,
      author: h.author,
      created_at: h.created_at,
      payload_hash: h.payload_hash,
      header: JSON.stringify(h),
    });
    const seq = Number(lastInsertRowid);
    this.s.insertLeaves.run(seq, leaves);
    if (a.verdict !== null) this.s.insertVerdict.run(seq, JSON.stringify(a.verdict));
    const moved =
      a.slot === META_SLOT
        ? h.prev === null
          ? this.s.insertMetaHead.run(a.hash)
          : this.s.moveMetaHead.run(a.hash, h.prev)
        : h.prev === null
          ? this.s.insertHead.run(a.version, a.slot, h.chain, a.hash)
          : this.s.moveHead.run(a.hash, a.version, a.slot, h.prev);
    if (moved.changes !== 1) throw new StaleHeadError(`head of ${a.slot} is no longer ${h.prev ?? 'empty'}`);
    this.s.bumpCount.run(h.chain);
    return seq;
  }

  async view(): Promise<ChainView> {
    return this.chainView;
  }

  async append(accepted: Accepted, leaves: Uint8Array): Promise<number> {
    return this.appendTx(accepted, leaves);
  }

  async block(hash: Hash): Promise<BlockInfo | undefined> {
    const hit = this.blocks.get(hash);
    if (hit !== undefined) return hit;
    const row = this.s.block.get(hash);
    const found = row && toStored(row);
    if (found !== undefined) this.blocks.set(hash, found);
    return found;
  }

  async verdict(hash: Hash): Promise<SignedVerdict | undefined> {
    const row = this.s.verdict.get(hash);
    return row && verdictOf(row.verdict)!;
  }

  async leaves(hash: Hash): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const row = this.s.leaves.get(hash);
    return row && new Uint8Array(row.leaves);
  }

  async metaHead(): Promise<Hash | null> {
    return this.chainView.metaHead();
  }

  async versionOf(metaHash: Hash): Promise<Hash | undefined> {
    return this.chainView.versionOf(metaHash);
  }

  private headsOf(version: Hash, chain: 'B' | 'D', prefix: number): Record<string, Hash> {
    const out: Record<string, Hash> = {};
    for (const r of this.s.heads.all(version, chain)) out[r.slot.slice(prefix)] = r.hash;
    return out;
  }

  async paramIndex(version: Hash): Promise<Record<string, Hash>> {
    return this.headsOf(version, 'B', 0);
  }

  async datasetHeads(version: Hash): Promise<Record<string, Hash>> {
    return this.headsOf(version, 'D', 'D/'.length);
  }

  /** Seq bound of `metaHash`'s reign and its version, or throws if it is no meta block. */
  private reign(metaHash: Hash): { version: Hash; until: number } {
    const meta = this.s.versionOf.get(metaHash);
    if (!meta) throw new Error(`${metaHash} is not a meta block`);
    return { version: meta.version, until: this.s.nextMetaSeq.get(meta.seq)?.seq ?? Number.MAX_SAFE_INTEGER };
  }

  async paramIndexAt(metaHash: Hash): Promise<Record<string, Hash>> {
    const { version, until } = this.reign(metaHash);
    const out: Record<string, Hash> = {};
    for (const r of this.s.headsBefore.all(until, version)) if (r.hash !== null) out[r.slot] = r.hash;
    return out;
  }

  async history(version: Hash, slot: string): Promise<HistoryEntry[]> {
    return this.s.history.all(version, slot).map((r) => ({ ...r, verdict: verdictOf(r.verdict) }));
  }

  async at(metaHash: Hash, slot: string): Promise<Hash | null> {
    const { version, until } = this.reign(metaHash);
    return this.s.lastBefore.get(version, slot, until)?.hash ?? null;
  }

  async list(after: number, limit: number, chain?: ChainId): Promise<BlockInfo[]> {
    const rows = chain === undefined ? this.s.list.all(after, limit) : this.s.listChain.all(chain, after, limit);
    return rows.map(toStored);
  }

  async counts(): Promise<ChainCounts> {
    const out: ChainCounts = { A: 0, B: 0, D: 0 };
    for (const r of this.s.counts.all()) out[r.chain] = r.n;
    return out;
  }

  async hasPayload(payloadHash: Hash): Promise<boolean> {
    return this.s.hasPayload.get(payloadHash) !== undefined;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

import type { Address, Hash } from '@blyan/block';
import { type Signature, type StoredVerdict, type Tier, type UploadStatus, bandKeys } from '@blyan/data';
import type pg from 'pg';
import { PgJournal } from '../rewards/pg-journal.ts';
import { inTransaction } from '../store/pg-pool.ts';
import { INTAKE_LOCK } from '../store/pg-schema.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { type CastVote, type VoteRecorded, type VoteRules, creditsFor, fateOf, settlementOf, statusFor } from './review-rules.ts';
import { CORPUS_ORDER, type CorpusDoc, type DataHubStore, LIVE, type Neighbour, type NewDoc, type NewUpload, type Upload, type UploadDoc, sigBytes, sigOf } from './store.ts';

const UNIQUE_VIOLATION = '23505';

type UploadRow = Omit<Upload, 'verdicts' | 'blocks'> & { verdicts: string; blocks: string };

const UPLOAD_COLUMNS = 'id, name, account, source, licence, status, detail, raw_bytes, verdicts, blocks, created_at, decided_at';
const DOC_COLUMNS = 'u.position, u.sha256, u.hidden, u.tier, u.bpb, u.overlap, u.sampled, u.settled, d.bytes';
/** A served (not held-out) training document of dataset $1 whose tier is in the array $2. */
const CORPUS_WHERE = "u.name = $1 AND u.status = 'accepted' AND NOT d.hidden AND (d.settled IS NULL OR d.settled = 'keep') AND d.tier = ANY($2)";
/** The documents of dataset $1's uploads $2 (the dataset at one version), reviewers' drops left out. */
const VERSION_WHERE = "u.name = $1 AND d.upload = ANY($2::bigint[]) AND (d.settled IS NULL OR d.settled = 'keep')";
const CORPUS_FROM = 'data_upload_docs d JOIN data_uploads u ON u.id = d.upload JOIN data_documents t USING (sha256)';

const upload = (r: UploadRow): Upload => ({ ...r, verdicts: JSON.parse(r.verdicts) as StoredVerdict[], blocks: JSON.parse(r.blocks) as Hash[] });

/**
 * The data hub on PostgreSQL, shared by relay replicas and `blyan worker` processes. Uploads wait
 * in a leased queue (claim: FOR UPDATE SKIP LOCKED, like the contribution queue), so one process
 * scores or appends an upload at a time and one that dies leaves it to be taken again when its
 * lease runs out. A vote locks its upload's row, so votes on one upload are counted one after
 * another whichever replica takes them; intake (L0 then store) runs under an advisory lock, so
 * each upload is checked against every document stored before it on any replica.
 */
export class PgDataStore implements DataHubStore {
  private readonly intake = new SerialQueue();

  constructor(private readonly pool: pg.Pool) {}

  private async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  async addUpload(u: NewUpload, docs: readonly NewDoc[], now: number): Promise<number> {
    return inTransaction(this.pool, async (q) => {
      const { rows } = await q.query<{ id: number }>(
        "INSERT INTO data_uploads (name, account, source, licence, status, raw_bytes, verdicts, created_at) VALUES ($1, $2, $3, $4, 'scoring', $5, $6, $7) RETURNING id",
        [u.name, u.account, u.source, u.licence, u.rawBytes, JSON.stringify(u.verdicts), now],
      );
      const id = rows[0]!.id;
      const fresh = await q.query<{ sha256: Hash }>(
        'INSERT INTO data_documents (sha256, text, bytes, signature) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bytea[]) ON CONFLICT DO NOTHING RETURNING sha256',
        [docs.map((d) => d.sha256), docs.map((d) => d.text), docs.map((d) => d.bytes), docs.map((d) => sigBytes(d.signature))],
      );
      const stored = new Set(fresh.rows.map((r) => r.sha256));
      const bands = docs.filter((d) => stored.has(d.sha256)).flatMap((d) => bandKeys(d.signature).map((band) => [band, d.sha256] as const));
      await q.query('INSERT INTO data_document_bands (band, sha256) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [bands.map((b) => b[0]), bands.map((b) => b[1])]);
      await q.query('INSERT INTO data_upload_docs (upload, position, sha256, hidden) SELECT $1, * FROM unnest($2::int[], $3::text[], $4::boolean[])', [
        id,
        docs.map((_, i) => i),
        docs.map((d) => d.sha256),
        docs.map((d) => d.hidden),
      ]);
      return id;
    });
  }

  async get(id: number): Promise<Upload | undefined> {
    const [r] = await this.rows<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM data_uploads WHERE id = $1`, [id]);
    return r === undefined ? undefined : upload(r);
  }

  async uploadsOf(name: string): Promise<Upload[]> {
    return (await this.rows<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM data_uploads WHERE name = $1 ORDER BY id`, [name])).map(upload);
  }

  async names(): Promise<string[]> {
    return (await this.rows<{ name: string }>('SELECT DISTINCT name FROM data_uploads ORDER BY name')).map((r) => r.name);
  }

  async pendingIds(): Promise<number[]> {
    return (await this.rows<{ id: number }>("SELECT id FROM data_uploads WHERE status IN ('scoring', 'appending') ORDER BY id")).map((r) => r.id);
  }

  async openUploads(account: Address): Promise<number> {
    return (await this.rows<{ n: number }>("SELECT count(*)::int AS n FROM data_uploads WHERE account = $1 AND status IN ('scoring', 'review', 'appending')", [account]))[0]!.n;
  }

  async docs(id: number): Promise<UploadDoc[]> {
    return this.rows<UploadDoc>(`SELECT ${DOC_COLUMNS} FROM data_upload_docs u JOIN data_documents d USING (sha256) WHERE u.upload = $1 ORDER BY u.position`, [id]);
  }

  async texts(hashes: readonly Hash[]): Promise<Map<Hash, string>> {
    return new Map((await this.rows<{ sha256: Hash; text: string }>('SELECT sha256, text FROM data_documents WHERE sha256 = ANY($1)', [hashes])).map((r) => [r.sha256, r.text]));
  }

  async signatures(id: number): Promise<Map<Hash, Signature>> {
    const rows = await this.rows<{ sha256: Hash; signature: Buffer }>('SELECT d.sha256, d.signature FROM data_upload_docs u JOIN data_documents d USING (sha256) WHERE u.upload = $1', [id]);
    return new Map(rows.map((r) => [r.sha256, sigOf(r.signature)]));
  }

  async held(hashes: readonly Hash[]): Promise<Hash[]> {
    const sql = `SELECT DISTINCT d.sha256 FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload WHERE d.sha256 = ANY($1) AND u.status IN ${LIVE}`;
    return (await this.rows<{ sha256: Hash }>(sql, [hashes])).map((r) => r.sha256);
  }

  async neighbours(bands: readonly string[], exclude: number): Promise<Neighbour[]> {
    const rows = await this.rows<{ sha256: Hash; signature: Buffer }>(
      `SELECT d.sha256, d.signature FROM data_documents d
       WHERE d.sha256 IN (SELECT sha256 FROM data_document_bands WHERE band = ANY($1))
         AND EXISTS (SELECT 1 FROM data_upload_docs x JOIN data_uploads u ON u.id = x.upload WHERE x.sha256 = d.sha256 AND u.status IN ${LIVE} AND u.id <> $2)`,
      [bands, exclude],
    );
    return rows.map((r) => ({ sha256: r.sha256, signature: sigOf(r.signature) }));
  }

  liveKnown(): null {
    return null;
  }

  async setStatus(id: number, status: UploadStatus, detail: string | null, now: number | null): Promise<void> {
    await this.pool.query('UPDATE data_uploads SET status = $1, detail = $2, decided_at = $3 WHERE id = $4', [status, detail, now, id]);
  }

  async setBlocks(id: number, blocks: readonly Hash[]): Promise<void> {
    await this.pool.query('UPDATE data_uploads SET blocks = $1 WHERE id = $2', [JSON.stringify(blocks), id]);
  }

  async fileScores(id: number, scores: readonly { position: number; tier: Tier; bpb: number; overlap: number }[], sample: readonly number[]): Promise<boolean> {
    return inTransaction(this.pool, async (q) => {
      const moved = await q.query("UPDATE data_uploads SET status = 'review', detail = NULL, decided_at = NULL WHERE id = $1 AND status = 'scoring'", [id]);
      if (moved.rowCount !== 1) return false;
      await q.query(
        `UPDATE data_upload_docs d SET tier = s.tier, bpb = s.bpb, overlap = s.overlap, sampled = s.position = ANY($5::int[])
         FROM unnest($2::int[], $3::text[], $4::float8[], $6::float8[]) AS s (position, tier, bpb, overlap) WHERE d.upload = $1 AND d.position = s.position`,
        [id, scores.map((s) => s.position), scores.map((s) => s.tier), scores.map((s) => s.bpb), sample, scores.map((s) => s.overlap)],
      );
      return true;
    });
  }

  async trainingDocs(name: string, uploads: readonly number[], tiers: readonly Tier[] = ['gold']): Promise<CorpusDoc[]> {
    return this.rows<CorpusDoc>(`SELECT d.sha256, t.text, d.tier, d.bpb FROM ${CORPUS_FROM} WHERE ${VERSION_WHERE} AND NOT d.hidden AND d.tier = ANY($3) ORDER BY ${CORPUS_ORDER}`, [name, uploads, tiers]);
  }

  async trainingPage(name: string, tiers: readonly Tier[], offset: number, limit: number): Promise<{ total: number; documents: CorpusDoc[] }> {
    const [count] = await this.rows<{ n: number }>(`SELECT count(*)::int AS n FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload WHERE ${CORPUS_WHERE}`, [name, tiers]);
    const documents = await this.rows<CorpusDoc>(`SELECT d.sha256, t.text, d.tier, d.bpb FROM ${CORPUS_FROM} WHERE ${CORPUS_WHERE} ORDER BY ${CORPUS_ORDER} LIMIT $3 OFFSET $4`, [
      name,
      tiers,
      limit,
      offset,
    ]);
    return { total: count!.n, documents };
  }

  async heldOutDocs(name: string, uploads: readonly number[]): Promise<CorpusDoc[]> {
    return this.rows<CorpusDoc>(`SELECT d.sha256, t.text, d.tier, d.bpb FROM ${CORPUS_FROM} WHERE ${VERSION_WHERE} AND d.hidden ORDER BY ${CORPUS_ORDER}`, [name, uploads]);
  }

  async reviewable(account: Address): Promise<{ upload: number; sha256: Hash; name: string } | undefined> {
    const [r] = await this.rows<{ upload: number; sha256: Hash; name: string }>(
      `SELECT d.upload, d.sha256, u.name FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload
       WHERE u.status = 'review' AND d.sampled AND d.settled IS NULL AND u.account <> $1
         AND NOT EXISTS (SELECT 1 FROM data_votes v WHERE v.upload = d.upload AND v.doc = d.sha256 AND v.account = $1)
       ORDER BY random() LIMIT 1`,
      [account],
    );
    return r;
  }

  async votesOf(id: number): Promise<number> {
    return (await this.rows<{ n: number }>('SELECT count(*)::int AS n FROM data_votes WHERE upload = $1', [id]))[0]!.n;
  }

  async seen(nonce: string, sig: string): Promise<boolean> {
    return (await this.rows('SELECT 1 FROM data_votes WHERE nonce = $1 OR sig = $2', [nonce, sig])).length > 0;
  }

  async castVote(v: CastVote, rules: VoteRules, now: number): Promise<VoteRecorded> {
    try {
      return await inTransaction(this.pool, async (q): Promise<VoteRecorded> => {
        const locked = await q.query<{ status: UploadStatus }>('SELECT status FROM data_uploads WHERE id = $1 FOR UPDATE', [v.upload]);
        if (locked.rows[0]?.status !== 'review') return { ok: false, code: 'not_in_review' };
        const docs = (await q.query<UploadDoc>(`SELECT ${DOC_COLUMNS} FROM data_upload_docs u JOIN data_documents d USING (sha256) WHERE u.upload = $1 ORDER BY u.position`, [v.upload])).rows;
        if (docs.find((x) => x.sha256 === v.doc)?.settled != null) return { ok: false, code: 'settled' };
        const inserted = await q.query<{ id: number }>(
          'INSERT INTO data_votes (upload, doc, account, signer, keep, nonce, sig, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (upload, doc, account) DO NOTHING RETURNING id',
          [v.upload, v.doc, v.account, v.signer, v.keep, v.nonce, v.sig, now],
        );
        if (inserted.rowCount !== 1) return { ok: false, code: 'already_voted' };
        const votes = (await q.query<{ id: number; account: Address; keep: boolean }>('SELECT id, account, keep FROM data_votes WHERE upload = $1 AND doc = $2 ORDER BY id', [v.upload, v.doc])).rows;
        const settled = settlementOf(votes, rules);
        if (settled !== null) {
          await q.query('UPDATE data_upload_docs SET settled = $1 WHERE upload = $2 AND sha256 = $3', [settled, v.upload, v.doc]);
          for (const entry of creditsFor(v, settled, votes, rules)) await PgJournal.post(q, entry, now);
        }
        const fate = fateOf(docs.map((x) => (x.sha256 === v.doc ? { ...x, settled } : x)), rules);
        const status = statusFor(fate, rules, now);
        if (status !== null) await q.query('UPDATE data_uploads SET status = $1, detail = $2, decided_at = $3 WHERE id = $4', [status.status, status.detail, status.decidedAt, v.upload]);
        return { ok: true, id: inserted.rows[0]!.id, settled, upload: fate };
      });
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) return { ok: false, code: 'already_voted' };
      throw e;
    }
  }

  async claim(id: number | undefined, by: string, leaseMs: number, now: number): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ id: number }>(
      `UPDATE data_uploads SET claimed_until = $1, claimed_by = $2 WHERE id = (
         SELECT id FROM data_uploads WHERE status IN ('scoring', 'appending') AND claimed_until <= $3 AND ($4::bigint IS NULL OR id = $4)
         ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1
       ) RETURNING id`,
      [now + leaseMs, by, now, id ?? null],
    );
    return rows[0]?.id;
  }

  async release(id: number, by: string): Promise<void> {
    await this.pool.query('UPDATE data_uploads SET claimed_until = 0, claimed_by = NULL WHERE id = $1 AND claimed_by = $2', [id, by]);
  }

  /** One intake at a time in this process (so waiting ones hold no connection), and across processes by an advisory lock held on one connection. */
  serially<T>(task: () => Promise<T>): Promise<T> {
    return this.intake.run(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [INTAKE_LOCK]);
        try {
          return await task();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [INTAKE_LOCK]);
        }
      } finally {
        client.release();
      }
    });
  }
}

import type { Address, Hash } from '@blyan/block';
import { type Known, type NearIndex, type Signature, type StoredVerdict, type Tier, type UploadStatus, type UploadView, bandKeys, similarity } from '@blyan/data';
import type Database from 'better-sqlite3';

/** An upload's row: what its view shows of it, with the uploading account and its blocks' hashes. */
export type Upload = Pick<UploadView, 'id' | 'name' | 'source' | 'licence' | 'status' | 'detail' | 'raw_bytes' | 'verdicts' | 'created_at' | 'decided_at'> & {
  readonly account: Address;
  readonly blocks: readonly Hash[];
};

export interface UploadDoc {
  readonly position: number;
  readonly sha256: Hash;
  readonly hidden: boolean;
  readonly tier: Tier | null;
  readonly bpb: number | null;
  readonly overlap: number | null;
  readonly sampled: boolean;
  readonly settled: 'keep' | 'drop' | null;
  readonly bytes: number;
}

/** A document accepted by L0, about to be stored with its upload. */
export interface NewDoc {
  readonly sha256: Hash;
  readonly text: string;
  readonly bytes: number;
  readonly signature: Signature;
  readonly hidden: boolean;
}

/** A document as training and evaluation read it. */
export interface CorpusDoc {
  readonly sha256: Hash;
  readonly text: string;
  readonly tier: Tier;
  readonly bpb: number;
}

type UploadRow = Omit<Upload, 'verdicts' | 'blocks'> & { verdicts: string; blocks: string };
type DocRow = Omit<UploadDoc, 'hidden' | 'sampled'> & { hidden: number; sampled: number };

/** Statuses whose documents count as held: anything not refused or failed. */
const LIVE = "('scoring', 'review', 'appending', 'accepted')";

/** A served (not held-out) training document of dataset ?1 whose tier is among the JSON array ?2. */
const CORPUS_WHERE =
  "u.name = ? AND u.status = 'accepted' AND d.hidden = 0 AND (d.settled IS NULL OR d.settled = 'keep') AND d.tier IN (SELECT value FROM json_each(?))";
/** Gold first, then silver, then the rest; within a tier by upload and position. */
const CORPUS_ORDER = "CASE d.tier WHEN 'gold' THEN 0 WHEN 'silver' THEN 1 ELSE 2 END, u.id, d.position";

const sigBytes = (s: Signature) => Buffer.from(s.buffer, s.byteOffset, s.byteLength);
const sigOf = (b: Buffer) => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

const upload = (r: UploadRow): Upload => ({ ...r, verdicts: JSON.parse(r.verdicts) as StoredVerdict[], blocks: JSON.parse(r.blocks) as Hash[] });
const doc = (r: DocRow): UploadDoc => ({ ...r, hidden: r.hidden === 1, sampled: r.sampled === 1 });

/**
 * The data hub's rows in accounts.sqlite. A document's text is stored once by its address however
 * many uploads name it; an upload names its documents in order with their held-out flag, tier and
 * review state.
 */
export class DataStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      insertUpload: db.prepare(
        "INSERT INTO data_uploads (name, account, source, licence, status, raw_bytes, verdicts, created_at) VALUES (?, ?, ?, ?, 'scoring', ?, ?, ?)",
      ),
      insertDoc: db.prepare('INSERT INTO data_documents (sha256, text, bytes, signature) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      insertBand: db.prepare('INSERT INTO data_document_bands (band, sha256) VALUES (?, ?)'),
      insertUploadDoc: db.prepare('INSERT INTO data_upload_docs (upload, position, sha256, hidden) VALUES (?, ?, ?, ?)'),
      upload: db.prepare<[number], UploadRow>('SELECT * FROM data_uploads WHERE id = ?'),
      uploadsOf: db.prepare<[string], UploadRow>('SELECT * FROM data_uploads WHERE name = ? ORDER BY id'),
      names: db.prepare<[], { name: string }>('SELECT DISTINCT name FROM data_uploads ORDER BY name'),
      pendingIds: db.prepare<[], { id: number }>("SELECT id FROM data_uploads WHERE status IN ('scoring', 'appending') ORDER BY id"),
      openOf: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM data_uploads WHERE account = ? AND status IN ('scoring', 'review', 'appending')"),
      docs: db.prepare<[number], DocRow>(
        'SELECT u.position, u.sha256, u.hidden, u.tier, u.bpb, u.overlap, u.sampled, u.settled, d.bytes FROM data_upload_docs u JOIN data_documents d USING (sha256) WHERE u.upload = ? ORDER BY u.position',
      ),
      text: db.prepare<[string], { text: string }>('SELECT text FROM data_documents WHERE sha256 = ?'),
      held: db.prepare<[string], { upload: number }>(`SELECT d.upload FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload WHERE d.sha256 = ? AND u.status IN ${LIVE} LIMIT 1`),
      band: db.prepare<[string, number], { sha256: Hash; signature: Buffer }>(
        `SELECT DISTINCT b.sha256, d.signature FROM data_document_bands b JOIN data_documents d USING (sha256)
         WHERE b.band = ? AND EXISTS (SELECT 1 FROM data_upload_docs x JOIN data_uploads u ON u.id = x.upload WHERE x.sha256 = b.sha256 AND u.status IN ${LIVE} AND u.id <> ?)`,
      ),
      signature: db.prepare<[string], { signature: Buffer }>('SELECT signature FROM data_documents WHERE sha256 = ?'),
      setStatus: db.prepare('UPDATE data_uploads SET status = ?, detail = ?, decided_at = ? WHERE id = ?'),
      setBlocks: db.prepare('UPDATE data_uploads SET blocks = ? WHERE id = ?'),
      file: db.prepare('UPDATE data_upload_docs SET tier = ?, bpb = ?, overlap = ? WHERE upload = ? AND position = ?'),
      sample: db.prepare('UPDATE data_upload_docs SET sampled = 1 WHERE upload = ? AND position = ?'),
      settle: db.prepare('UPDATE data_upload_docs SET settled = ? WHERE upload = ? AND sha256 = ?'),
      corpus: db.prepare<[string, number], CorpusDoc & { upload: number }>(
        `SELECT d.sha256, t.text, d.tier, d.bpb, d.upload FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload JOIN data_documents t USING (sha256)
         WHERE u.name = ? AND u.status = 'accepted' AND d.hidden = ? AND (d.settled IS NULL OR d.settled = 'keep')
         ORDER BY ${CORPUS_ORDER}`,
      ),
      corpusPage: db.prepare<[string, string, number, number], CorpusDoc>(
        `SELECT d.sha256, t.text, d.tier, d.bpb FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload JOIN data_documents t USING (sha256)
         WHERE ${CORPUS_WHERE} ORDER BY ${CORPUS_ORDER} LIMIT ? OFFSET ?`,
      ),
      corpusCount: db.prepare<[string, string], { n: number }>(
        `SELECT COUNT(*) AS n FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload WHERE ${CORPUS_WHERE}`,
      ),
      reviewable: db.prepare<[string, string], { upload: number; sha256: Hash; name: string }>(
        `SELECT d.upload, d.sha256, u.name FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload
         WHERE u.status = 'review' AND d.sampled = 1 AND d.settled IS NULL AND u.account <> ?
           AND NOT EXISTS (SELECT 1 FROM data_votes v WHERE v.upload = d.upload AND v.doc = d.sha256 AND v.account = ?)
         ORDER BY random() LIMIT 1`,
      ),
      votesOf: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM data_votes WHERE upload = ?'),
    };
  }

  /** A random sampled, unsettled document of someone else's upload under review that `account` has not voted on. */
  reviewable(account: Address): { upload: number; sha256: Hash; name: string } | undefined {
    return this.s.reviewable.get(account, account);
  }

  votesOf(upload: number): number {
    return this.s.votesOf.get(upload)!.n;
  }

  /** Stores an upload that passed L0 (its accepted documents, texts once) with every verdict, status `scoring`. */
  addUpload(u: { name: string; account: Address; source: string; licence: string; rawBytes: number; verdicts: readonly StoredVerdict[] }, docs: readonly NewDoc[], now: number): number {
    return this.db.transaction(() => {
      const id = Number(this.s.insertUpload.run(u.name, u.account, u.source, u.licence, u.rawBytes, JSON.stringify(u.verdicts), now).lastInsertRowid);
      docs.forEach((d, position) => {
        if (this.s.insertDoc.run(d.sha256, d.text, d.bytes, sigBytes(d.signature)).changes === 1) {
          for (const band of bandKeys(d.signature)) this.s.insertBand.run(band, d.sha256);
        }
        this.s.insertUploadDoc.run(id, position, d.sha256, d.hidden ? 1 : 0);
      });
      return id;
    })();
  }

  get(id: number): Upload | undefined {
    const r = this.s.upload.get(id);
    return r === undefined ? undefined : upload(r);
  }

  uploadsOf(name: string): Upload[] {
    return this.s.uploadsOf.all(name).map(upload);
  }

  names(): string[] {
    return this.s.names.all().map((r) => r.name);
  }

  pendingIds(): number[] {
    return this.s.pendingIds.all().map((r) => r.id);
  }

  /** Uploads of `account` still being scored, reviewed or appended. */
  openUploads(account: Address): number {
    return this.s.openOf.get(account)!.n;
  }

  docs(upload: number): UploadDoc[] {
    return this.s.docs.all(upload).map(doc);
  }

  text(sha256: Hash): string {
    return this.s.text.get(sha256)!.text;
  }

  signature(sha256: Hash): Signature {
    return sigOf(this.s.signature.get(sha256)!.signature);
  }

  /** What L0 checks an upload against: every document of a live upload, exactly and by near-duplicate index. */
  known(): Known {
    return { has: (h) => this.s.held.get(h) !== undefined, near: this.nearIndex(0) };
  }

  /** Near-duplicate lookups against the documents of live uploads other than `exclude`. */
  nearIndex(exclude: number): NearIndex {
    return {
      nearest: (sig) => {
        let best: { doc: string; similarity: number } | null = null;
        for (const band of bandKeys(sig)) {
          for (const r of this.s.band.all(band, exclude)) {
            const s = similarity(sig, sigOf(r.signature));
            if (best === null || s > best.similarity) best = { doc: r.sha256, similarity: s };
          }
        }
        return best;
      },
    };
  }

  setStatus(id: number, status: UploadStatus, detail: string | null, now: number | null): void {
    this.s.setStatus.run(status, detail, now, id);
  }

  setBlocks(id: number, blocks: readonly Hash[]): void {
    this.s.setBlocks.run(JSON.stringify(blocks), id);
  }

  /** Files every document's L1 figures and marks the review sample, and moves the upload to review, in one transaction. */
  fileScores(id: number, scores: readonly { position: number; tier: Tier; bpb: number; overlap: number }[], sample: readonly number[]): void {
    this.db.transaction(() => {
      for (const s of scores) this.s.file.run(s.tier, s.bpb, s.overlap, id, s.position);
      for (const p of sample) this.s.sample.run(id, p);
      this.s.setStatus.run('review', null, null, id);
    })();
  }

  /**
   * Training's view of dataset `name`: the public documents of its accepted uploads in `tiers`
   * (default gold only), gold first, then by upload and position; reviewers' drops left out.
   */
  trainingDocs(name: string, tiers: readonly Tier[] = ['gold']): CorpusDoc[] {
    return this.s.corpus.all(name, 0).filter((d) => tiers.includes(d.tier)).map(({ sha256, text, tier, bpb }) => ({ sha256, text, tier, bpb }));
  }

  /**
   * One page of what trainingDocs(name, tiers) lists, in the same order, with the list's length:
   * the database counts and slices, so a page reads only its own documents' text.
   */
  trainingPage(name: string, tiers: readonly Tier[], offset: number, limit: number): { total: number; documents: CorpusDoc[] } {
    const t = JSON.stringify(tiers);
    return { total: this.s.corpusCount.get(name, t)!.n, documents: this.s.corpusPage.all(name, t, limit, offset) };
  }

  /** Evaluation's view of dataset `name`: its held-out documents (every tier), which no route ever serves. */
  heldOutDocs(name: string): CorpusDoc[] {
    return this.s.corpus.all(name, 1).map(({ sha256, text, tier, bpb }) => ({ sha256, text, tier, bpb }));
  }

  settle(upload: number, sha256: Hash, outcome: 'keep' | 'drop'): void {
    this.s.settle.run(outcome, upload, sha256);
  }
}

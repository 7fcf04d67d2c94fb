import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { CachedObjectStore } from './cached-object-store.ts';
import { FileObjectStore } from './file-object-store.ts';
import type { IndexStore } from './index-store.ts';
import type { ObjectStore } from './object-store.ts';
import { PgIndexStore } from './pg-index-store.ts';
import { S3ObjectStore, parseS3Url, s3ClientFromEnv } from './s3-object-store.ts';
import { SqliteIndexStore } from './sqlite-index-store.ts';

export interface Stores {
  objects: CachedObjectStore;
  index: IndexStore;
  /** With a --database: the process's one PostgreSQL pool, the index's (closing the index ends it); everything else shared uses it too. */
  pool: pg.Pool | undefined;
}

/**
 * Where the index and the payloads live when not in the store directory: `database` a
 * postgres:// URL (PgIndexStore), `objects` an s3://bucket/prefix URL (S3ObjectStore). Each is
 * independent; absent, the embedded SQLite file and objects/ folder are used.
 */
export interface Backends {
  database?: string;
  objects?: string;
}

export const indexPath = (dir: string) => join(dir, 'index.sqlite');

async function openIndex(dir: string, mode: 'readwrite' | 'readonly', backends: Backends, poolSize: number): Promise<{ index: IndexStore; pool: pg.Pool | undefined }> {
  if (backends.database === undefined) return { index: SqliteIndexStore.open(indexPath(dir), mode), pool: undefined };
  const index = await PgIndexStore.open(backends.database, mode, poolSize);
  return { index, pool: index.pool };
}

function openObjects(dir: string, mode: 'readwrite' | 'readonly', backends: Backends): Promise<ObjectStore> {
  if (backends.objects !== undefined) return S3ObjectStore.open(s3ClientFromEnv(), parseS3Url(backends.objects));
  return FileObjectStore.open(join(dir, 'objects'), mode);
}

/**
 * The store: by default embedded in `dir` (`index.sqlite` and content-addressed `objects/`), else
 * on the `backends` given (`poolSize` connections to the database); small payloads are kept in
 * memory (CachedObjectStore). Read-only opens (verify, inspect) need an existing store and never
 * write to it.
 */
export async function openStores(dir: string, mode: 'readwrite' | 'readonly', backends: Backends = {}, poolSize = 10): Promise<Stores> {
  if (mode === 'readonly' && backends.database === undefined && !existsSync(indexPath(dir))) throw new Error(`no relay store at ${dir}`);
  if (mode === 'readwrite') await mkdir(dir, { recursive: true });
  const objects = new CachedObjectStore(await openObjects(dir, mode, backends));
  return { objects, ...(await openIndex(dir, mode, backends, poolSize)) };
}

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileObjectStore } from './file-object-store.ts';
import { SqliteIndexStore } from './sqlite-index-store.ts';

export interface Stores {
  objects: FileObjectStore;
  index: SqliteIndexStore;
}

export const indexPath = (dir: string) => join(dir, 'index.sqlite');

/**
 * The embedded store in `dir`: `index.sqlite` and content-addressed `objects/`. Read-only opens
 * (verify, inspect) need an existing store and never write to it.
 */
export async function openStores(dir: string, mode: 'readwrite' | 'readonly'): Promise<Stores> {
  if (mode === 'readonly' && !existsSync(indexPath(dir))) throw new Error(`no relay store at ${dir}`);
  if (mode === 'readwrite') await mkdir(dir, { recursive: true });
  const objects = await FileObjectStore.open(join(dir, 'objects'), mode);
  return { objects, index: SqliteIndexStore.open(indexPath(dir), mode) };
}

import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST } from './paths.ts';

export interface PinnedDist {
  dir: string;
  /** Writes genesis.json naming `meta` as the genesis this copy of the app trusts, with its signed genesis `headers` (meta first) when given. */
  pin(meta: string, headers?: unknown[]): Promise<void>;
  remove(): Promise<void>;
}

/**
 * The built app as if built for another network (a relay founded with its own genesis): every file
 * of `dist` (default apps/web/dist) linked into a temp folder, but its own genesis.json, written by `pin`.
 */
export async function pinnedDist(dist = DIST): Promise<PinnedDist> {
  const dir = await mkdtemp(join(tmpdir(), 'blyan-dist-'));
  for (const name of await readdir(dist)) if (name !== 'genesis.json') await symlink(join(dist, name), join(dir, name));
  return {
    dir,
    pin: (meta, headers) => writeFile(join(dir, 'genesis.json'), JSON.stringify(headers === undefined ? { meta } : { meta, headers })),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

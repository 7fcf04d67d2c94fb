import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';

const SECRET_BYTES = 32;

export const evalSecretPath = (dir: string) => join(dir, 'eval.secret');

/**
 * The key of the store's evaluation pool: 32 random bytes in `<dir>/eval.secret` (mode 0600),
 * created on first open and never served. Losing it only changes which passages are scored next.
 */
export async function openEvalSecret(dir: string): Promise<Uint8Array> {
  const path = evalSecretPath(dir);
  try {
    await writeFile(path, randomBytes(SECRET_BYTES), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const secret = new Uint8Array(await readFile(path));
  if (secret.length !== SECRET_BYTES) throw new Error(`${path} holds ${secret.length} bytes; an evaluation secret is ${SECRET_BYTES}`);
  return secret;
}

/**
 * The evaluation secret of replicas and workers sharing a PostgreSQL database: made by the first
 * to start and kept in the database, so every worker draws the same hidden evaluation pool.
 */
export async function sharedEvalSecret(pool: pg.Pool): Promise<Uint8Array> {
  await pool.query('INSERT INTO eval_secret (secret) VALUES ($1) ON CONFLICT DO NOTHING', [randomBytes(SECRET_BYTES)]);
  const { rows } = await pool.query<{ secret: Buffer }>('SELECT secret FROM eval_secret');
  return new Uint8Array(rows[0]!.secret);
}

import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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

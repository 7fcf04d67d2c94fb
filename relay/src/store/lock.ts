import { open, readFile, unlink, writeFile } from 'node:fs/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A pid file that keeps a second writer off a store: startup removes unreferenced payload files,
 * which is only safe while no other process is between writing a payload and committing its row.
 * A lock left by a dead process (kill -9) is taken over.
 */
export async function lockStore(path: string): Promise<() => Promise<void>> {
  try {
    const fh = await open(path, 'wx');
    await fh.writeFile(String(process.pid));
    await fh.close();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
      throw new Error(`store is in use by process ${pid} (${path})`);
    }
    await writeFile(path, String(process.pid));
  }
  return () => unlink(path).catch(() => undefined);
}

import Database from 'better-sqlite3';

/**
 * The store lock: an SQLite file held open in exclusive locking mode, so the operating system's
 * file lock is what keeps a second writer off a store (startup removes unreferenced payload files,
 * which is only safe while no other process is between writing a payload and committing its row).
 * Taking it is one atomic step in the kernel: of two relays starting at once exactly one gets it,
 * and a lock whose holder died (kill -9) is free again with nothing to take over. The file stays;
 * only its lock matters. Resolves to the release.
 */
export async function lockStore(path: string): Promise<() => Promise<void>> {
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (one INTEGER); COMMIT;');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new Error(`store is in use by another process (${path})`);
    throw e;
  }
  return async () => {
    if (db.open) db.close();
  };
}

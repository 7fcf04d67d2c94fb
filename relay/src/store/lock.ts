import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

/** How long a start keeps trying while another process holds or contends for the lock. */
const CONTEND_MS = 1000;

/** One try: the lock's connection, or null when another process holds or is taking it. */
function tryLock(path: string): Database.Database | null {
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (one INTEGER); COMMIT;');
    return db;
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw e;
  }
}

/**
 * The store lock: an SQLite file held open in exclusive locking mode, so the operating system's
 * file lock is what keeps a second writer off a store (startup removes unreferenced payload files,
 * which is only safe while no other process is between writing a payload and committing its row).
 * The kernel grants it to one process at a time: of two relays starting at once exactly one gets
 * it, and a lock whose holder died (kill -9) is free again with nothing to take over. Two starts
 * that collide both back off (a busy try closes its connection) and retry after a random pause,
 * so one of them wins; a start that finds the lock held for CONTEND_MS gives up. The file stays;
 * only its lock matters. Resolves to the release.
 */
export async function lockStore(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + CONTEND_MS;
  for (;;) {
    const db = tryLock(path);
    if (db !== null) {
      return async () => {
        if (db.open) db.close();
      };
    }
    if (Date.now() >= deadline) throw new Error(`store is in use by another process (${path})`);
    await sleep(10 + Math.random() * 40);
  }
}

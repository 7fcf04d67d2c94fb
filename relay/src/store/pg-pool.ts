import pg from 'pg';
import { checkSchema, migrate } from './pg-schema.ts';

/** bigint columns hold milliseconds and credit units, all well inside 2^53: read them as numbers. */
const types = { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser };

/**
 * The process's one connection pool to the relay's PostgreSQL database (the index, sign-in, the
 * queues and the journal all use it, with one type parsing): read-write opens bring the schema up
 * to date (pg-schema.ts), read-only opens require it.
 */
export async function openPgPool(url: string, max = 10, mode: 'readwrite' | 'readonly' = 'readwrite'): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max, types });
  try {
    const client = await pool.connect();
    try {
      if (mode === 'readwrite') await migrate(client);
      else await checkSchema(client);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end();
    throw e;
  }
  return pool;
}

/** Runs `fn` in one transaction on one pooled connection: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  } finally {
    client.release();
  }
}

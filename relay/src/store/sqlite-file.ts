import Database from 'better-sqlite3';

export interface SqliteSchema {
  /** What the schema is of, for errors: "index", "accounts". */
  readonly what: string;
  readonly sql: string;
  readonly version: number;
  /**
   * Upgrades: `migrations[n]` takes a file from version n to n + 1. Each is written to be safe to
   * run again (IF NOT EXISTS), and runs in one transaction with the version bump.
   */
  readonly migrations?: Readonly<Record<number, string>>;
}

/**
 * Opens a relay SQLite file: read-write in WAL mode with synchronous=FULL (a commit is durable when
 * it returns), creating the schema in a new file; any open checks `user_version` against the
 * schema version, upgrades an older read-write file through `migrations`, and refuses any other.
 */
export function openSqlite(path: string, mode: 'readwrite' | 'readonly', schema: SqliteSchema): Database.Database {
  const db = new Database(path, { readonly: mode === 'readonly' });
  try {
    if (mode === 'readwrite') {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('busy_timeout = 5000');
    let version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0 && mode === 'readwrite') {
      db.transaction(() => {
        db.exec(schema.sql);
        db.pragma(`user_version = ${schema.version}`);
      })();
      version = schema.version;
    }
    const migrate = (sql: string, to: number) =>
      db.transaction(() => {
        db.exec(sql);
        db.pragma(`user_version = ${to}`);
      })();
    while (mode === 'readwrite' && version < schema.version && schema.migrations?.[version] !== undefined) {
      migrate(schema.migrations[version]!, version + 1);
      version += 1;
    }
    if (version !== schema.version) {
      throw new Error(`${path} has ${schema.what} schema ${version}; this relay reads schema ${schema.version}`);
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

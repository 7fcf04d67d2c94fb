import { randomUUID } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Hash } from '@blyan/block';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import type { Backends } from '../src/store/open.ts';
import { S3_BUCKET, S3_CREDENTIALS } from './s3-account.ts';

/** The store back-ends the relay suites run on; vitest.config.ts has one test project per name. */
export type BackendName = 'embedded' | 'postgres+s3';

declare module 'vitest' {
  export interface ProvidedContext {
    backend: BackendName;
    pgUrl: string;
    s3Endpoint: string;
  }
}

/** One test's private corner of a back-end, and how to look into it. */
export interface TestBackend {
  name: BackendName;
  backends: Backends;
  /** The environment a relay process needs to reach these back-ends. */
  env: Record<string, string>;
  /** The `blyan` options that put a command on these back-ends (with `--store DIR` for its own files). */
  flags: string[];
  /** Every stored object, temp files included: what a refused submission must leave unchanged. */
  objectKeys(dir: string): Promise<string[]>;
  /** Tampering behind the relay's back (what `blyan verify` must catch), with the relay closed: */
  tamper: {
    /** the stored header JSON of block #seq, rewritten by `edit`; */
    header(dir: string, seq: number, edit: (header: Record<string, unknown>) => unknown): Promise<void>;
    /** the stored tile leaves of block #seq, replaced; */
    leaves(dir: string, seq: number, leaves: Uint8Array): Promise<void>;
    /** the stored payload `hash`, rewritten by `edit` (null: deleted). */
    payload(dir: string, hash: Hash, edit: (bytes: Uint8Array) => Uint8Array | null): Promise<void>;
  };
  drop(): Promise<void>;
}

const objectPath = (dir: string, hash: Hash) => join(dir, 'objects', hash.slice(0, 2), hash.slice(2));

/** Runs `use` on the embedded index (index.sqlite in `dir`), closed after. */
function onSqliteIndex(dir: string, use: (db: Database.Database) => void): void {
  const db = new Database(join(dir, 'index.sqlite'));
  try {
    use(db);
  } finally {
    db.close();
  }
}

const embedded: TestBackend = {
  name: 'embedded',
  backends: {},
  env: {},
  flags: [],
  async objectKeys(dir) {
    const root = join(dir, 'objects');
    const out: string[] = [];
    for (const d of await readdir(root)) for (const f of await readdir(join(root, d))) out.push(`${d}/${f}`);
    return out.sort();
  },
  tamper: {
    async header(dir, seq, edit) {
      onSqliteIndex(dir, (db) => {
        const { header } = db.prepare<[number], { header: string }>('SELECT header FROM blocks WHERE seq = ?').get(seq)!;
        db.prepare('UPDATE blocks SET header = ? WHERE seq = ?').run(JSON.stringify(edit(JSON.parse(header))), seq);
      });
    },
    async leaves(dir, seq, leaves) {
      onSqliteIndex(dir, (db) => db.prepare('UPDATE tile_leaves SET leaves = ? WHERE seq = ?').run(Buffer.from(leaves), seq));
    },
    async payload(dir, hash, edit) {
      const out = edit(new Uint8Array(await readFile(objectPath(dir, hash))));
      await (out === null ? rm(objectPath(dir, hash)) : writeFile(objectPath(dir, hash), out));
    },
  },
  async drop() {},
};

/** The back-end this test project runs on (the `backend` it provides; embedded by default). */
export const currentBackend = (): BackendName => inject('backend') ?? 'embedded';

export function s3Env(): Record<string, string> {
  return { AWS_ENDPOINT_URL_S3: inject('s3Endpoint'), AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
}

export const s3Client = () => new S3Client({ endpoint: inject('s3Endpoint'), region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDENTIALS });

/** A fresh PostgreSQL schema (its own tables, found through search_path) and a fresh bucket prefix. */
async function postgresS3(): Promise<TestBackend> {
  const id = `t_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${id}`);
  await admin.end();
  const url = new URL(inject('pgUrl'));
  url.searchParams.set('options', `-c search_path=${id}`);
  const env = s3Env();
  Object.assign(process.env, env);
  const s3 = s3Client();
  const keys = async () => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: `${id}/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push(o.Key!.slice(id.length + 1));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort();
  };
  const backends = { database: url.toString(), objects: `s3://${S3_BUCKET}/${id}` };
  const sql = async (text: string, params: unknown[]) => {
    const c = new pg.Client({ connectionString: backends.database });
    await c.connect();
    try {
      return (await c.query(text, params)).rows;
    } finally {
      await c.end();
    }
  };
  const key = (hash: Hash) => `${id}/${hash.slice(0, 2)}/${hash.slice(2)}`;
  return {
    name: 'postgres+s3',
    backends,
    env,
    flags: ['--database', backends.database, '--objects', backends.objects],
    objectKeys: () => keys(),
    tamper: {
      async header(_dir, seq, edit) {
        const [{ header }] = await sql('SELECT header FROM blocks WHERE seq = $1', [seq]);
        await sql('UPDATE blocks SET header = $1 WHERE seq = $2', [JSON.stringify(edit(JSON.parse(header))), seq]);
      },
      async leaves(_dir, seq, leaves) {
        await sql('UPDATE blocks SET leaves = $1 WHERE seq = $2', [Buffer.from(leaves), seq]);
      },
      async payload(_dir, hash, edit) {
        const got = await s3.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: key(hash) }));
        const out = edit(await got.Body!.transformToByteArray());
        await s3.send(out === null ? new DeleteObjectCommand({ Bucket: S3_BUCKET, Key: key(hash) }) : new PutObjectCommand({ Bucket: S3_BUCKET, Key: key(hash), Body: out }));
      },
    },
    async drop() {
      for (const k of await keys()) await s3.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key: `${id}/${k}` }));
      s3.destroy();
      const c = new pg.Client({ connectionString: inject('pgUrl') });
      await c.connect();
      await c.query(`DROP SCHEMA ${id} CASCADE`);
      await c.end();
    },
  };
}

export const testBackend = (name: BackendName = currentBackend()): Promise<TestBackend> => (name === 'embedded' ? Promise.resolve(embedded) : postgresS3());

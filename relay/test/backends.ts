import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
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
  drop(): Promise<void>;
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
  return {
    name: 'postgres+s3',
    backends,
    env,
    flags: ['--database', backends.database, '--objects', backends.objects],
    objectKeys: () => keys(),
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

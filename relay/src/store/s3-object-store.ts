import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type Hash, isHash } from '@blyan/block';
import type { ObjectStore } from './object-store.ts';

/** How old an unreferenced object must be before `removeOrphans` deletes it (see there). */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

export interface S3Location {
  bucket: string;
  /** Key prefix, without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
}

/** `s3://bucket/some/prefix` → { bucket, prefix }. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`--objects must be s3://bucket[/prefix] with a valid bucket name, got ${url}`);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/**
 * The S3 client for `--objects s3://…`: region, endpoint and credentials come from the SDK's usual
 * environment (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …), plus
 * AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) for an S3-compatible service (R2, MinIO, Ceph RGW),
 * addressed path-style when an endpoint is set.
 */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint !== undefined && { endpoint, forcePathStyle: true }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const isMissing = (e: unknown) => e instanceof NotFound || e instanceof NoSuchKey || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

const rangeHeader = (start: number, end: number) => `bytes=${start}-${end - 1}`;

/**
 * Payloads as objects `<prefix>/ab/cdef…` in an S3 bucket. A put is one PutObject carrying the
 * payload's SHA-256 (`x-amz-checksum-sha256`), so the bucket itself refuses bytes that are not
 * the ones the ledger verified; S3 makes a completed put visible whole or not at all. Reads and
 * ranges are GetObject with a Range header, relayed by the relay (see docs/ARCHITECTURE.md).
 */
export class S3ObjectStore implements ObjectStore {
  private constructor(
    private readonly client: S3Client,
    private readonly at: S3Location,
    private readonly now: () => number,
  ) {}

  /** Checks that the bucket answers before the relay serves anything from it. */
  static async open(client: S3Client, at: S3Location, now: () => number = Date.now): Promise<S3ObjectStore> {
    try {
      await client.send(new HeadBucketCommand({ Bucket: at.bucket }));
    } catch (e) {
      throw new Error(`bucket ${at.bucket} is not reachable: ${(e as Error).name} ${(e as Error).message}`);
    }
    return new S3ObjectStore(client, at, now);
  }

  private get root(): string {
    return this.at.prefix === '' ? '' : `${this.at.prefix}/`;
  }

  private keyOf(hash: Hash): string {
    return `${this.root}${hash.slice(0, 2)}/${hash.slice(2)}`;
  }

  async put(hash: Hash, bytes: Uint8Array): Promise<void> {
    if ((await this.size(hash)) === bytes.length) return;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.at.bucket,
        Key: this.keyOf(hash),
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: 'application/octet-stream',
        ChecksumSHA256: Buffer.from(hash, 'hex').toString('base64'),
      }),
    );
  }

  async has(hash: Hash): Promise<boolean> {
    return (await this.size(hash)) !== undefined;
  }

  async size(hash: Hash): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.at.bucket, Key: this.keyOf(hash) }))).ContentLength;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  private async get(hash: Hash, start: number, end: number | undefined) {
    return this.client.send(
      new GetObjectCommand({ Bucket: this.at.bucket, Key: this.keyOf(hash), ...((start > 0 || end !== undefined) && { Range: rangeHeader(start, end ?? Number.MAX_SAFE_INTEGER) }) }),
    );
  }

  async read(hash: Hash, start = 0, end?: number): Promise<Uint8Array<ArrayBuffer>> {
    if (end !== undefined && end <= start) return new Uint8Array(0);
    const out = await (await this.get(hash, start, end)).Body!.transformToByteArray();
    return new Uint8Array(out.buffer as ArrayBuffer, out.byteOffset, out.byteLength);
  }

  async stream(hash: Hash, start = 0, end?: number): Promise<ReadableStream<Uint8Array>> {
    if (end !== undefined && end <= start) return new Blob([]).stream();
    return (await this.get(hash, start, end)).Body!.transformToWebStream() as ReadableStream<Uint8Array>;
  }

  /**
   * Deletes objects under the prefix that no block refers to and that are older than
   * ORPHAN_GRACE_MS: other replicas share the bucket, and one of them may have put a payload whose
   * index row is about to commit. A put either completes or leaves nothing, so there is no
   * half-written object to remove.
   */
  async removeOrphans(isReferenced: (hash: Hash) => Promise<boolean>): Promise<Hash[]> {
    const removed: Hash[] = [];
    const cutoff = this.now() - ORPHAN_GRACE_MS;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.at.bucket, Prefix: this.root, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const hash = o.Key!.slice(this.root.length).replace('/', '');
        if ((o.LastModified?.getTime() ?? 0) > cutoff) continue;
        if (isHash(hash) && (await isReferenced(hash))) continue;
        await this.client.send(new DeleteObjectCommand({ Bucket: this.at.bucket, Key: o.Key! }));
        if (isHash(hash)) removed.push(hash);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return removed;
  }
}

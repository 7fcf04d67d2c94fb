import { blockHash, payloadHash } from '@blyan/block';
import { validateBlock } from '@blyan/chain';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { relayRules } from '../src/config.ts';
import { StaleHeadError } from '../src/store/index-store.ts';
import { PgIndexStore } from '../src/store/pg-index-store.ts';
import { PG_MIGRATIONS } from '../src/store/pg-schema.ts';
import { ORPHAN_GRACE_MS, S3ObjectStore, parseS3Url } from '../src/store/s3-object-store.ts';
import { type TestBackend, s3Client, testBackend } from './backends.ts';
import { type Fixture, bytes, fixture, paramBlock } from './helpers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function backend(): Promise<TestBackend> {
  const b = await testBackend('postgres+s3');
  cleanup.push(() => b.drop());
  return b;
}

async function withFixture(): Promise<Fixture> {
  const f = await fixture();
  cleanup.push(() => f.close());
  return f;
}

async function sql(url: string, text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

describe('PgIndexStore', () => {
  it('migrates once however often it is opened, and refuses a schema newer than it reads', async () => {
    const url = (await backend()).backends.database!;
    await expect(PgIndexStore.open(url, 'readonly')).rejects.toThrow(/no relay schema/);
    const opened = await Promise.all([1, 2, 3].map(() => PgIndexStore.open(url, 'readwrite')));
    for (const s of opened) await s.close();
    expect((await sql(url, 'SELECT version FROM blyan_migrations ORDER BY version')).rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    await (await PgIndexStore.open(url, 'readonly')).close();
    await sql(url, 'INSERT INTO blyan_migrations (version) VALUES ($1)', [PG_MIGRATIONS.length + 1]);
    await expect(PgIndexStore.open(url, 'readwrite')).rejects.toThrow(`relay schema ${PG_MIGRATIONS.length + 1}; this relay reads schema ${PG_MIGRATIONS.length}`);
  });

  it('lets one of two replicas move a head that both validated against; the other gets StaleHeadError and writes nothing', async () => {
    const f = await withFixture();
    const other = await PgIndexStore.open(f.backend.backends.database!, 'readwrite');
    cleanup.push(() => other.close());
    const prev = f.genesis.find((b) => b.header.name === 'layer0.expert0')!;
    const a = await paramBlock({ meta: f.meta, name: 'layer0.expert0', prev, seed: 1 });
    const b = await paramBlock({ meta: f.meta, name: 'layer0.expert0', prev, seed: 2 });
    const va = await validateBlock(await f.relay.index.view(a.header), a, relayRules());
    const vb = await validateBlock(await other.view(b.header), b, relayRules());
    if (!va.ok || !vb.ok) throw new Error('both validate against the same head');
    const before = await other.counts();
    const results = await Promise.allSettled([f.relay.index.append(va, new Uint8Array(32)), other.append(vb, new Uint8Array(32))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(StaleHeadError);
    expect(await other.counts()).toEqual({ ...before, B: before.B + 1 });
    const winner = results[0]!.status === 'fulfilled' ? a : b;
    expect((await other.paramIndex(f.meta))['layer0.expert0']).toBe(blockHash(winner.header));
  });

  it('holds the chain invariants as constraints: no fork of a slot, no head on a missing block, whole leaf hashes only', async () => {
    const f = await withFixture();
    const url = f.backend.backends.database!;
    const [row] = (await sql(url, "SELECT * FROM blocks WHERE slot = 'layer0.expert0'")).rows;
    const fork = { ...row, hash: 'ab'.repeat(32) };
    await expect(
      sql(url, 'INSERT INTO blocks (hash, chain, version, slot, idx, author, created_at, payload_hash, header, leaves) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)', [
        fork.hash, fork.chain, fork.version, fork.slot, fork.idx, fork.author, fork.created_at, fork.payload_hash, fork.header, fork.leaves,
      ]),
    ).rejects.toThrow(/blocks_version_slot_idx_key/);
    await expect(sql(url, "UPDATE heads SET hash = $1 WHERE slot = 'layer0.expert0'", ['cd'.repeat(32)])).rejects.toThrow(/foreign key/);
    await expect(sql(url, "UPDATE blocks SET leaves = $1 WHERE slot = 'layer0.expert0'", [Buffer.alloc(33)])).rejects.toThrow(/check constraint/);
    await expect(sql(url, 'INSERT INTO meta_head (one, hash) VALUES (false, $1)', [row.hash])).rejects.toThrow(/check constraint/);
  });
});

/** An S3ObjectStore on a fresh prefix of the test bucket, with its client. */
async function s3Store() {
  const at = parseS3Url((await backend()).backends.objects!);
  const client = s3Client();
  cleanup.push(async () => client.destroy());
  return { at, client, store: await S3ObjectStore.open(client, at) };
}

describe('S3ObjectStore', () => {
  it('removes unreferenced objects only once they are older than the grace period a replica may still be committing in', async () => {
    const { at, client, store } = await s3Store();
    const keep = bytes(100, 1);
    const drop = bytes(100, 2);
    await store.put(payloadHash(keep), keep);
    await store.put(payloadHash(drop), drop);
    const referenced = async (h: string) => h === payloadHash(keep);
    expect(await store.removeOrphans(referenced)).toEqual([]);
    const later = await S3ObjectStore.open(client, at, () => Date.now() + ORPHAN_GRACE_MS + 60_000);
    expect(await later.removeOrphans(referenced)).toEqual([payloadHash(drop)]);
    expect(await store.has(payloadHash(keep))).toBe(true);
    expect(await store.has(payloadHash(drop))).toBe(false);
  });

  it('reads ranges and refuses a bucket that does not exist', async () => {
    const { client, store } = await s3Store();
    const data = bytes(300_000, 3);
    await store.put(payloadHash(data), data);
    expect(await store.size(payloadHash(data))).toBe(300_000);
    expect(Buffer.from(await store.read(payloadHash(data), 1000, 1010)).equals(data.subarray(1000, 1010))).toBe(true);
    const streamed = new Uint8Array(await new Response(await store.stream(payloadHash(data), 5, 299_999)).arrayBuffer());
    expect(Buffer.from(streamed).equals(data.subarray(5, 299_999))).toBe(true);
    expect(await store.size(payloadHash(bytes(10, 9)))).toBeUndefined();
    await expect(S3ObjectStore.open(client, parseS3Url('s3://no-such-bucket-here/x'))).rejects.toThrow(/not reachable/);
    expect(() => parseS3Url('https://example.com/x')).toThrow(/s3:\/\/bucket/);
  });
});

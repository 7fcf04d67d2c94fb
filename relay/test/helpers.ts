import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, type Block, type Hash, type ParamType, type Signer, blockHash, buildBlock, encodeBlock } from '@blyan/block';
import type { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';
import { relayRules } from '../src/config.ts';
import { type ModelConfig, initParams } from '@blyan/model';
import { encodeSlotPayload, slotPlan } from '@blyan/model/blocks';
import { importGenesis } from '../src/cli/seed.ts';
import { type GenesisFile, genesisFromCheckpoint } from '../src/genesis.ts';
import { randomCheckpoint } from '../src/random-checkpoint.ts';
import { type Relay, openRelay } from '../src/relay.ts';
import { createApp } from '../src/server/app.ts';
import type { ClientLimits } from '../src/server/client-limits.ts';
import type { Backends } from '../src/store/open.ts';
import { type TestBackend, testBackend } from './backends.ts';

export const GENESIS_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const genesisAccount = privateKeyToAccount(GENESIS_KEY);
export const authority = genesisAccount.address.toLowerCase() as Address;
export const miner = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');
/** The evaluator the fixtures' genesis names: the relay signs its verdicts with this key. */
export const EVALUATOR_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';
export const evaluatorAccount = privateKeyToAccount(EVALUATOR_KEY);
export const evaluator = evaluatorAccount.address.toLowerCase() as Address;
/** Who the fixtures' genesis trusts. */
export const TRUST = { authorities: [authority], evaluators: [evaluator] };

/** A model small enough that genesis takes milliseconds: 2 layers of 4 experts. */
export const TINY: ModelConfig = {
  vocabSize: 300,
  dModel: 8,
  nLayers: 2,
  nHeads: 2,
  nExperts: 4,
  topK: 2,
  dFF: 16,
  contextLength: 16,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.01,
};

/** Per-client limits no functional test reaches (the attack tests build apps with the defaults). */
const wide = { limit: 1_000_000, windowMs: 60_000 };
export const UNLIMITED: ClientLimits = { nonce: wide, login: wide, blocks: wide, contributions: wide, uploads: wide, votes: wide, deltas: wide, usage: wide };

export const tinyCheckpoint = (seed = 1, config: ModelConfig = TINY) => randomCheckpoint(config, seed);

export const tempDir = () => mkdtemp(join(tmpdir(), 'blyan-relay-'));

/** Deterministic filler bytes, different per seed. */
export const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);

export interface Fixture {
  dir: string;
  /** Where the index and payloads live: this test project's back-end. */
  backend: TestBackend;
  relay: Relay;
  app: Hono;
  genesis: Block[];
  meta: Hash;
  /** Slot name → its genesis block hash. */
  slots: Record<string, Hash>;
  close(): Promise<void>;
}

/**
 * A relay on a temp store, on this test project's back-end, seeded with the genesis of
 * `checkpoint`; `genesis.key` is written for the CLI.
 */
export async function seededFixture(
  open: (dir: string, backends: Backends) => Promise<Relay>,
  checkpoint: Uint8Array,
  createdAt: number,
  maxPayloadBytes: number,
): Promise<Fixture> {
  const dir = await tempDir();
  await writeFile(join(dir, 'genesis.key'), `${GENESIS_KEY}\n`, { mode: 0o600 });
  const backend = await testBackend();
  const relay = await open(dir, backend.backends);
  const genesis = await genesisFromCheckpoint(checkpoint, 'test checkpoint', genesisAccount, { createdAt, trust: TRUST });
  for (const b of genesis) {
    const r = await relay.ledger.submit(b);
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  }
  const slots: Record<string, Hash> = {};
  for (const b of genesis.slice(1)) slots[b.header.name] = blockHash(b.header);
  const f: Fixture = {
    dir,
    backend,
    relay,
    app: createApp({ ...relay, maxPayloadBytes, limits: UNLIMITED }),
    genesis,
    meta: blockHash(genesis[0]!.header),
    slots,
    async close() {
      await f.relay.close();
      await backend.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return f;
}

/** A relay on a temp store seeded with the tiny genesis. */
export const fixture = (maxPayloadBytes = 1 << 20): Promise<Fixture> =>
  seededFixture((dir, backends) => openRelay(dir, relayRules(maxPayloadBytes), undefined, evaluatorAccount, backends), tinyCheckpoint(), 1_700_000_000_000, maxPayloadBytes);

export interface ParamDraft {
  meta: Hash;
  name: string;
  type?: ParamType;
  prev?: Block | null;
  seed?: number;
  size?: number;
  tileSize?: number;
  signer?: Signer;
}

const TINY_SLOTS = new Map(slotPlan(TINY).map((s) => [s.name, s]));

/**
 * A payload for slot `name` of the tiny model: its tensors from initParams(TINY, seed + 1), padded
 * with filler to `size` bytes when that is larger; filler alone for a slot the tiny model lacks.
 */
export function slotPayload(name: string, seed: number, size?: number): Uint8Array {
  const slot = TINY_SLOTS.get(name);
  if (slot === undefined) return bytes(size ?? 3000, seed);
  const tensors = encodeSlotPayload(slot, initParams(TINY, seed + 1), 'int8');
  if (size === undefined || size <= tensors.length) return tensors;
  const out = bytes(size, seed);
  out.set(tensors);
  return out;
}

/** A parameter block on `meta`'s slot `name`, replacing `prev` (null for a first version); the genesis authority's by default. */
export function paramBlock({ meta, name, type = 'expert', prev = null, seed = 0, size, tileSize = 4096, signer = genesisAccount }: ParamDraft): Promise<Block> {
  const p = prev === null ? null : blockHash(prev.header);
  return buildBlock(
    {
      type,
      index: prev === null ? 0 : prev.header.index + 1,
      name,
      depends_on: p === null ? [meta] : [meta, p],
      prev: p,
      payload: slotPayload(name, seed, size),
      tile_size: tileSize,
      meta: { encoding: 'tensors-v1' },
    },
    signer,
  );
}

/** The headers of a block upload. */
export const OCTETS = { 'content-type': 'application/octet-stream' };

export function post(app: Hono, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', body: body as BodyInit, headers: { ...OCTETS, ...headers } };
  if (body instanceof ReadableStream) init.duplex = 'half';
  return Promise.resolve(app.request('/v1/blocks', init));
}

export const submit = (app: Hono, b: Block) => post(app, encodeBlock(b));

/** The wire bytes of a block as a fetch body. */
export const wireBody = (b: Block) => encodeBlock(b) as Uint8Array<ArrayBuffer>;

/** Row count and payload file count: what a rejected submission must leave unchanged. */
export async function storeState(f: Fixture): Promise<{ rows: number; files: number; head: Hash | null }> {
  const c = await f.relay.index.counts();
  const files = (await f.backend.objectKeys(f.dir)).length;
  return { rows: c.A + c.B + c.D, files, head: await f.relay.index.metaHead() };
}

/** An empty relay on a temp store, on this test project's back-end, with no keys. */
export async function emptyRelay(): Promise<{ relay: Relay; dir: string; close(): Promise<void> }> {
  const dir = await tempDir();
  const backend = await testBackend();
  const relay = await openRelay(dir, relayRules(), undefined, null, backend.backends);
  return {
    relay,
    dir,
    async close() {
      await relay.close();
      await backend.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Imports a published genesis with `checkpoint` into a fresh empty relay; the block hashes it then holds, in order. */
export async function importedBlocks(file: GenesisFile, checkpoint: Uint8Array): Promise<Hash[]> {
  const { relay, close } = await emptyRelay();
  try {
    await importGenesis(relay.ledger, JSON.stringify(file), checkpoint, { genesis: 'genesis.json', checkpoint: 'checkpoint.tensors' }, () => undefined);
    return (await relay.index.list(0, 1000)).map((b) => b.hash);
  } finally {
    await close();
  }
}

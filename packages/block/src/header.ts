import { type Hash, isHash } from './hex.ts';
import { canonicalBytes, canonicalHash } from './jcs.ts';

/**
 * Block header, format version 1.
 *
 * The block hash is SHA-256 over the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of the
 * header without `sig`: keys sorted by UTF-16 code units, no whitespace, numbers in ECMAScript
 * shortest round-trip form. That makes the hash independent of key order, engine and platform.
 * docs/ARCHITECTURE.md specifies the format in full.
 */
export const HEADER_VERSION = 1;

/** `A` meta chain, `B` parameter DAG, `D` datasets. */
export type ChainId = 'A' | 'B' | 'D';
export type ParamType = 'dense' | 'expert' | 'router';
export type BlockType = 'meta' | ParamType | 'dataset';
export type Address = `0x${string}`;
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A parameter slot a meta block declares, e.g. `{ name: 'layer2.expert5', type: 'expert' }`. */
export type SlotDecl = { name: string; type: ParamType };

/**
 * Meta blocks name their architecture (a new `arch` starts a new model version) and who is trusted
 * under them: `authorities` may append meta blocks and move any parameter or dataset head directly;
 * `evaluators` sign the proof-of-learning verdicts that let anyone else move one.
 */
export interface MetaBlockMeta {
  arch: string;
  slots: SlotDecl[];
  /** Non-empty, lowercase, no repeats. */
  authorities: Address[];
  /** Lowercase, no repeats; may be empty (then only authorities move heads). */
  evaluators: Address[];
  [k: string]: Json;
}

/** Parameter and dataset blocks say how their payload is encoded. */
export interface PayloadMeta {
  /** Parameters: tensors-v1. Datasets: dataset-v1 (@blyan/data: deflated JSON of addressed documents) or plain text-utf8. */
  encoding: 'tensors-v1' | 'text-utf8' | 'dataset-v1';
  [k: string]: Json;
}

interface HeaderFields {
  v: typeof HEADER_VERSION;
  index: number;
  name: string;
  depends_on: Hash[];
  prev: Hash | null;
  payload_hash: Hash;
  payload_size: number;
  merkle_root: Hash;
  tile_size: number;
  author: Address;
  created_at: number;
}

/** The header as hashed: the chain and meta shape are fixed by the block type. */
export type UnsignedHeader =
  | (HeaderFields & { chain: 'A'; type: 'meta'; meta: MetaBlockMeta })
  | (HeaderFields & { chain: 'B'; type: ParamType; meta: PayloadMeta })
  | (HeaderFields & { chain: 'D'; type: 'dataset'; meta: PayloadMeta });

export type BlockHeader = UnsignedHeader & { sig: `0x${string}` };

export const CHAIN_OF_TYPE: Record<BlockType, ChainId> = {
  meta: 'A',
  dense: 'B',
  expert: 'B',
  router: 'B',
  dataset: 'D',
};

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;

export function isAddress(x: unknown): x is Address {
  return typeof x === 'string' && ADDRESS_RE.test(x);
}
const SIG_RE = /^0x[0-9a-f]{130}$/;
const NAME_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const HEADER_KEYS = [
  'v', 'chain', 'index', 'type', 'name', 'depends_on', 'prev', 'payload_hash', 'payload_size',
  'merkle_root', 'tile_size', 'author', 'created_at', 'meta',
] as const;
export const MIN_TILE_SIZE = 1 << 12;
export const MAX_TILE_SIZE = 1 << 24;
/** Headers are small; this bounds what a relay parses before it rejects. */
export const MAX_HEADER_BYTES = 256 * 1024;

export class HeaderError extends Error {
  override name = 'HeaderError';
}

function fail(msg: string): never {
  throw new HeaderError(msg);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function checkJson(x: unknown, path: string): void {
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) fail(`${path} is not a finite number`);
    return;
  }
  if (Array.isArray(x)) return x.forEach((v, i) => checkJson(v, `${path}[${i}]`));
  if (isRecord(x)) return Object.entries(x).forEach(([k, v]) => checkJson(v, `${path}.${k}`));
  fail(`${path} is not JSON`);
}

function parseAddresses(x: unknown, path: string): void {
  if (!Array.isArray(x) || !x.every(isAddress)) fail(`${path} must be an array of lowercase 0x-prefixed 20-byte addresses`);
  if (new Set(x).size !== x.length) fail(`${path} lists an address twice`);
}

function parseMeta(type: BlockType, meta: unknown): void {
  if (!isRecord(meta)) fail('meta must be an object');
  checkJson(meta, 'meta');
  if (type === 'meta') {
    if (typeof meta.arch !== 'string' || meta.arch.length === 0) fail('meta.arch must be a non-empty string');
    if (!Array.isArray(meta.slots)) fail('meta.slots must be an array');
    const seen = new Set<string>();
    for (const s of meta.slots) {
      if (!isRecord(s) || typeof s.name !== 'string' || !NAME_RE.test(s.name)) fail('meta.slots entries need a valid name');
      if (s.type !== 'dense' && s.type !== 'expert' && s.type !== 'router') fail(`slot ${s.name} has bad type ${String(s.type)}`);
      if (seen.has(s.name)) fail(`slot ${s.name} is declared twice`);
      seen.add(s.name);
    }
    parseAddresses(meta.authorities, 'meta.authorities');
    if ((meta.authorities as unknown[]).length === 0) fail('meta.authorities must name at least one authority');
    parseAddresses(meta.evaluators, 'meta.evaluators');
    return;
  }
  const allowed = type === 'dataset' ? ['dataset-v1', 'text-utf8'] : ['tensors-v1'];
  if (!allowed.includes(meta.encoding as string)) fail(`meta.encoding of a ${type} block must be ${allowed.join(' or ')}`);
}

/** Checks an untrusted value (e.g. parsed JSON from the network) and returns it typed. */
export function parseHeader(x: unknown): BlockHeader {
  if (!isRecord(x)) fail('header must be a JSON object');
  for (const k of Object.keys(x)) {
    if (k !== 'sig' && !(HEADER_KEYS as readonly string[]).includes(k)) fail(`unknown header field ${k}`);
  }
  for (const k of HEADER_KEYS) if (!(k in x)) fail(`header field ${k} is missing`);
  if (x.v !== HEADER_VERSION) fail(`unsupported header version ${String(x.v)}`);
  const type = x.type;
  if (typeof type !== 'string' || !(type in CHAIN_OF_TYPE)) fail(`unknown block type ${String(type)}`);
  if (x.chain !== CHAIN_OF_TYPE[type as BlockType]) fail(`a ${type} block belongs on chain ${CHAIN_OF_TYPE[type as BlockType]}, not ${String(x.chain)}`);
  if (!isNonNegInt(x.index)) fail('index must be a non-negative integer');
  if (typeof x.name !== 'string' || !NAME_RE.test(x.name)) fail('name must match [A-Za-z0-9_.:-]{1,128}');
  if (!Array.isArray(x.depends_on) || !x.depends_on.every(isHash)) fail('depends_on must be an array of hashes');
  if (new Set(x.depends_on).size !== x.depends_on.length) fail('depends_on lists a hash twice');
  if (x.prev !== null && !isHash(x.prev)) fail('prev must be a hash or null');
  if (!isHash(x.payload_hash)) fail('payload_hash must be a hash');
  if (!isNonNegInt(x.payload_size)) fail('payload_size must be a non-negative integer');
  if (!isHash(x.merkle_root)) fail('merkle_root must be a hash');
  const ts = x.tile_size;
  if (!isNonNegInt(ts) || ts < MIN_TILE_SIZE || ts > MAX_TILE_SIZE || (ts & (ts - 1)) !== 0) {
    fail(`tile_size must be a power of two in [${MIN_TILE_SIZE}, ${MAX_TILE_SIZE}]`);
  }
  if (!isAddress(x.author)) fail('author must be a lowercase 0x-prefixed 20-byte address');
  if (!isNonNegInt(x.created_at)) fail('created_at must be milliseconds since the epoch');
  if (typeof x.sig !== 'string' || !SIG_RE.test(x.sig)) fail('sig must be a 65-byte lowercase 0x hex signature');
  parseMeta(type as BlockType, x.meta);
  return x as unknown as BlockHeader;
}

function unsignedFields(h: UnsignedHeader): Record<string, unknown> {
  const unsigned: Record<string, unknown> = {};
  for (const k of HEADER_KEYS) unsigned[k] = h[k];
  return unsigned;
}

/** The canonical bytes that are hashed: JCS of every header field but `sig`. */
export function encodeHeader(h: UnsignedHeader): Uint8Array {
  return canonicalBytes(unsignedFields(h));
}

export function blockHash(h: UnsignedHeader): Hash {
  return canonicalHash(unsignedFields(h));
}

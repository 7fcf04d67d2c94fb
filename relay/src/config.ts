import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Address } from '@blyan/block';
import type { RuleOptions } from '@blyan/chain';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_STORE = join(REPO_ROOT, '.blyan', 'relay');
/** The canonical genesis: genesis v2 (issue 12), its genesis.json next to its checkpoint. */
export const CANONICAL_GENESIS_DIR = join(REPO_ROOT, 'public', 'genesis-v2');
/** Genesis v1, kept for comparison: `blyan serve --genesis public/genesis` imports it instead. */
export const GENESIS_V1_DIR = join(REPO_ROOT, 'public', 'genesis');
/** A genesis directory's checkpoint (the payloads are rebuilt from it) and its signed headers. */
export const genesisCheckpoint = (dir: string): string => join(dir, 'checkpoint.tensors');
export const genesisJson = (dir: string): string => join(dir, 'genesis.json');
export const COMMITTED_CHECKPOINT = genesisCheckpoint(CANONICAL_GENESIS_DIR);
/** The canonical network's signed genesis headers (its payloads are rebuilt from COMMITTED_CHECKPOINT). */
export const COMMITTED_GENESIS = genesisJson(CANONICAL_GENESIS_DIR);
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;
const KEY_RE = /^0x[0-9a-fA-F]{64}$/;

/** `--store`, else `BLYAN_STORE`, else `.blyan/relay` under the repository root. */
export function storeDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.BLYAN_STORE ?? DEFAULT_STORE);
}

/** A private key the relay holds, where it came from, and its address. */
export interface StoreKey {
  key: Hex;
  address: Address;
  source: 'flag' | 'env' | 'file' | 'generated';
  path?: string;
}

/** A kind of key: the environment variable that may hold it and its file in the store. */
interface KeyKind {
  what: string;
  env: string;
  file: string;
}

const GENESIS: KeyKind = { what: 'genesis', env: 'BLYAN_GENESIS_KEY', file: 'genesis.key' };
const EVALUATOR: KeyKind = { what: 'evaluator', env: 'BLYAN_EVALUATOR_KEY', file: 'evaluator.key' };

function parseKey(text: string, where: string): Hex {
  const key = text.trim();
  if (!KEY_RE.test(key)) throw new Error(`${where} must hold a 0x-prefixed 32-byte hex private key`);
  return key as Hex;
}

function withAddress(key: Hex, source: StoreKey['source'], path?: string): StoreKey {
  return { key, address: privateKeyToAccount(key).address.toLowerCase() as Address, source, ...(path && { path }) };
}

async function readKey(path: string, source: 'flag' | 'file'): Promise<StoreKey> {
  return withAddress(parseKey(await readFile(path, 'utf8'), path), source, path);
}

/** Writes a new key to `path` (mode 0600, never overwriting one). */
async function generateKey(path: string): Promise<StoreKey> {
  const key = generatePrivateKey();
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(`${key}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return withAddress(key, 'generated', path);
}

/** `kind`'s environment variable, else its file in `dir`, else (with `create`) a new key saved there, else null. */
async function storeKey(dir: string, kind: KeyKind, create: boolean): Promise<StoreKey | null> {
  const env = process.env[kind.env];
  if (env !== undefined && env !== '') return withAddress(parseKey(env, kind.env), 'env');
  const path = join(dir, kind.file);
  if (existsSync(path)) return readKey(path, 'file');
  return create ? generateKey(path) : null;
}

/**
 * The genesis authority of a network this store founded: `BLYAN_GENESIS_KEY`, else
 * `<store>/genesis.key`; with `create`, a new key is generated and saved there when neither exists.
 */
export async function genesisKey(dir: string, create: boolean): Promise<StoreKey> {
  const key = await storeKey(dir, GENESIS, create);
  if (key === null) throw new Error(`no genesis key: set ${GENESIS.env} or keep ${join(dir, GENESIS.file)} from the store's first start`);
  return key;
}

/**
 * The key this relay signs proof-of-learning verdicts with: `--evaluator-key FILE`, else
 * `BLYAN_EVALUATOR_KEY`, else `<store>/evaluator.key` (written when the store founded its network,
 * or now with `create`); null when there is none: the relay then judges no contributions.
 */
export async function evaluatorKey(dir: string, flag: string | undefined, create = false): Promise<StoreKey | null> {
  if (flag !== undefined) {
    if (!existsSync(flag)) throw new Error(`--evaluator-key ${flag}: no such file`);
    return readKey(flag, 'flag');
  }
  return storeKey(dir, EVALUATOR, create);
}

/** The relay's chain rules: who may write is the meta chain's to say; the relay bounds payload size. */
export function relayRules(maxPayloadBytes = DEFAULT_MAX_PAYLOAD): RuleOptions {
  return { maxPayloadBytes };
}

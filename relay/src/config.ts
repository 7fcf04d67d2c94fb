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
export const COMMITTED_CHECKPOINT = join(REPO_ROOT, 'public', 'genesis', 'checkpoint.tensors');
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;
const KEY_FILE = 'genesis.key';
const KEY_RE = /^0x[0-9a-fA-F]{64}$/;

/** `--store`, else `BLYAN_STORE`, else `.blyan/relay` under the repository root. */
export function storeDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.BLYAN_STORE ?? DEFAULT_STORE);
}

export interface GenesisKey {
  key: Hex;
  address: Address;
  source: 'env' | 'file' | 'generated';
  path?: string;
}

function parseKey(text: string, where: string): Hex {
  const key = text.trim();
  if (!KEY_RE.test(key)) throw new Error(`${where} must hold a 0x-prefixed 32-byte hex private key`);
  return key as Hex;
}

function withAddress(key: Hex, source: GenesisKey['source'], path?: string): GenesisKey {
  return { key, address: privateKeyToAccount(key).address.toLowerCase() as Address, source, ...(path && { path }) };
}

/**
 * The genesis authority: `BLYAN_GENESIS_KEY`, else `<store>/genesis.key`; with `create`, a new
 * key is generated and saved there (mode 0600, never overwritten) when neither exists.
 */
export async function genesisKey(dir: string, create: boolean): Promise<GenesisKey> {
  const env = process.env.BLYAN_GENESIS_KEY;
  if (env !== undefined && env !== '') return withAddress(parseKey(env, 'BLYAN_GENESIS_KEY'), 'env');
  const path = join(dir, KEY_FILE);
  if (existsSync(path)) return withAddress(parseKey(await readFile(path, 'utf8'), path), 'file', path);
  if (!create) throw new Error(`no genesis key: set BLYAN_GENESIS_KEY or keep ${path} from the store's first start`);
  const key = generatePrivateKey();
  await mkdir(dir, { recursive: true });
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(`${key}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return withAddress(key, 'generated', path);
}

/** The relay's chain rules: who may write is the meta chain's to say; the relay bounds payload size. */
export function relayRules(maxPayloadBytes = DEFAULT_MAX_PAYLOAD): RuleOptions {
  return { maxPayloadBytes };
}

import { readFile } from 'node:fs/promises';
import type { Block, Hash } from '@blyan/block';
import { DATASET_ENCODING, decodeDatasetPayload } from '@blyan/data';
import { Tokenizer } from '@blyan/model';
import { type MetaPayload, type SlotPlan, parseMetaPayload, slotParams, slotPlan, versionBlocks } from '@blyan/model/blocks';
import { evalStream } from '@blyan/model/eval';
import { growthPayloads, planGrowth } from '@blyan/model/grow';
import { privateKeyToAccount } from 'viem/accounts';
import { genesisKey, relayRules, storeDir } from '../config.ts';
import { openRelay } from '../relay.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { type Log, STORE_OPTION, UsageError, backendsFrom, intOption, parse } from './args.ts';
import { formatTable } from './table.ts';

/** What the chain holds for the current model version: the meta head, its payload and every slot's head. */
interface Current {
  readonly head: Hash;
  readonly index: number;
  readonly version: Hash;
  readonly meta: MetaPayload;
  readonly authorities: readonly string[];
  readonly evaluators: readonly string[];
  readonly payloads: Map<string, Uint8Array>;
  readonly heads: Map<string, { hash: Hash; index: number }>;
}

async function current(index: IndexStore, objects: ObjectStore): Promise<Current> {
  const head = await index.metaHead();
  if (head === null) throw new UsageError('the store has no chain yet: start it once with blyan serve');
  const info = (await index.block(head))!;
  if (info.header.type !== 'meta') throw new Error(`meta head ${head} is not a meta block`);
  const version = (await index.versionOf(head))!;
  const meta = parseMetaPayload(await objects.read(info.header.payload_hash));
  const params = await index.paramIndex(version);
  const payloads = new Map<string, Uint8Array>();
  const heads = new Map<string, { hash: Hash; index: number }>();
  for (const slot of slotPlan(meta.config)) {
    const hash = params[slot.name];
    if (hash === undefined) throw new Error(`the current version has no block for slot ${slot.name}`);
    const block = (await index.block(hash))!;
    payloads.set(slot.name, await objects.read(block.header.payload_hash));
    heads.set(slot.name, { hash, index: block.header.index });
  }
  const { authorities, evaluators } = info.header.meta;
  return { head, index: info.header.index, version, meta, authorities, evaluators, payloads, heads };
}

/** The dataset's public text: every document of every block in its history (dataset-v1 documents, or a text-utf8 payload whole). */
async function datasetText(index: IndexStore, objects: ObjectStore, version: Hash, name: string): Promise<{ block: Hash; texts: string[] }> {
  const history = await index.history(version, `D/${name}`);
  if (history.length === 0) throw new UsageError(`the current model version has no dataset ${name} on chain D`);
  const texts: string[] = [];
  for (const { hash } of history) {
    const { header } = (await index.block(hash))!;
    const payload = await objects.read(header.payload_hash);
    if (header.meta.encoding === DATASET_ENCODING) texts.push(...decodeDatasetPayload(payload).docs.map((d) => d.text));
    else texts.push(new TextDecoder().decode(payload));
  }
  return { block: history.at(-1)!.hash, texts };
}

const paramsOf = (plan: readonly SlotPlan[], payloads: ReadonlyMap<string, Uint8Array>) => Object.assign({}, ...plan.map((slot) => slotParams(slot, payloads.get(slot.name)!)));

/**
 * `blyan grow --dataset NAME`: adds `--experts` experts per layer for a dataset of chain D to a
 * stopped relay's store, signed by a genesis authority (`--authority-key FILE`, else
 * $BLYAN_GENESIS_KEY, else <store>/genesis.key): the experts the router picks most on the dataset's
 * public text (over at most `--windows` windows) are copied into the new ones (sparse upcycling),
 * and a meta block naming the dataset, the routers' next blocks (a zero row per new expert) and the
 * new experts' first blocks continue the current model version. Prints the routing counts.
 */
export async function grow(args: string[], log: Log): Promise<number> {
  const { values } = parse(args, { ...STORE_OPTION, dataset: { type: 'string' }, experts: { type: 'string' }, windows: { type: 'string' }, 'authority-key': { type: 'string' } });
  if (values.dataset === undefined) throw new UsageError('grow needs --dataset NAME (a dataset on chain D)');
  const added = intOption(values.experts, 'experts', 2, 1, 64);
  const windows = intOption(values.windows, 'windows', 64, 1, 100_000);
  const dir = storeDir(values.store);
  const key = values['authority-key'] !== undefined ? (await readFile(values['authority-key'], 'utf8')).trim() : (await genesisKey(dir, false)).key;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError('the authority key must be a 0x-prefixed 32-byte hex private key');
  const signer = privateKeyToAccount(key as `0x${string}`);
  const relay = await openRelay(dir, relayRules(), undefined, null, backendsFrom(values));
  try {
    const now = await current(relay.index, relay.objects);
    if (!now.authorities.includes(signer.address.toLowerCase())) throw new UsageError(`${signer.address.toLowerCase()} is not an authority of the meta head ${now.head}`);
    const data = await datasetText(relay.index, relay.objects, now.version, values.dataset);
    const tokenizer = Tokenizer.fromJSON(now.meta.tokenizer);
    const stream = evalStream(tokenizer, data.texts);
    const params = paramsOf(slotPlan(now.meta.config), now.payloads);
    const { record, counts } = planGrowth(now.meta.config, params, { name: values.dataset, block: data.block, stream }, added, windows);
    const payloads = growthPayloads(now.meta, now.payloads, now.heads, record);
    const config = parseMetaPayload(payloads.meta).config;
    const trust = { authorities: now.authorities as `0x${string}`[], evaluators: now.evaluators as `0x${string}`[] };
    const blocks: Block[] = await versionBlocks(config, payloads, signer, { parent: { hash: now.head, index: now.index }, dependsOn: [data.block], trust });
    for (const b of blocks) {
      const r = await relay.ledger.submit(b);
      if (!r.ok) throw new Error(`block ${b.header.name} was refused: ${r.code}: ${r.message}`);
    }
    const rows = counts.map((layer, l) => [String(l), layer.join(' '), record.sources[l]!.map((e, i) => `${e} → ${record.first + i}`).join(', ')]);
    log(`dataset ${values.dataset}: ${data.texts.length} documents, ${stream.length} tokens; routing counts over at most ${windows} windows of ${now.meta.config.contextLength} tokens`);
    log(formatTable(['layer', 'top-k picks per expert', 'upcycled'], rows));
    log(`grown to ${config.nExperts} experts per layer (router normalized over the first ${config.baseExperts}); ${blocks.length} blocks; meta head ${await relay.index.metaHead()}`);
    return 0;
  } finally {
    await relay.close();
  }
}

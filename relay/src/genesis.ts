import { type Block, type BlockHeader, type Hash, type Signer, blockHash, isHash, parseHeader, payloadHash, verifyPayload } from '@blyan/block';
import { MemoryChain } from '@blyan/chain';
import { type ExpertEncoding, type GenesisModel, type GenesisOptions, type GenesisPayloads, genesisBlocks, genesisPayloads } from '@blyan/model/blocks';
import { type ModelCheckpoint, decodeCheckpoint, recordedSplits } from '@blyan/model/checkpoint';

export type CheckpointGenesisOptions = Pick<GenesisOptions, 'experts' | 'createdAt' | 'trust'>;

/** A published genesis: the meta block hash (what apps pin) and every signed header, meta first. */
export interface GenesisFile {
  meta: Hash;
  headers: BlockHeader[];
}

function checkpointModel(bytes: Uint8Array, source: string): GenesisModel {
  const checkpoint: ModelCheckpoint = decodeCheckpoint(bytes, source);
  return { ...checkpoint, splits: recordedSplits(checkpoint, source) };
}

/** The genesis blocks of a checkpoint file's bytes (train/checkpoint.ts format), errors naming `source`. */
export async function genesisFromCheckpoint(bytes: Uint8Array, source: string, signer: Signer, opts: CheckpointGenesisOptions = {}): Promise<Block[]> {
  return genesisBlocks(checkpointModel(bytes, source), signer, opts);
}

export function genesisFile(blocks: readonly Block[]): GenesisFile {
  return { meta: blockHash(blocks[0]!.header), headers: blocks.map((b) => b.header) };
}

/** Checks untrusted JSON as a genesis file: every header well-formed, the first a founding meta block hashing to `meta`. */
export function parseGenesisFile(json: unknown, source: string): GenesisFile {
  const x = json as Partial<Record<'meta' | 'headers', unknown>> | null;
  if (typeof x !== 'object' || x === null || !isHash(x.meta) || !Array.isArray(x.headers) || x.headers.length === 0) {
    throw new Error(`${source}: a genesis file is { "meta": <block hash>, "headers": [<signed header>, …] }`);
  }
  const headers = x.headers.map((h, i) => {
    try {
      return parseHeader(h);
    } catch (e) {
      throw new Error(`${source}: header ${i}: ${(e as Error).message}`);
    }
  });
  const first = headers[0]!;
  if (first.type !== 'meta' || first.prev !== null) throw new Error(`${source}: the first header must be the founding meta block`);
  if (blockHash(first) !== x.meta) throw new Error(`${source}: the meta header hashes to ${blockHash(first)}, not the pinned ${x.meta}`);
  return { meta: x.meta, headers };
}

const ENCODINGS: readonly ExpertEncoding[] = ['int8', 'f32'];

/** The payloads whose meta payload the header commits to: int8 experts, else f32. */
function matchingPayloads(model: GenesisModel, meta: BlockHeader): GenesisPayloads | undefined {
  for (const experts of ENCODINGS) {
    const p = genesisPayloads(model, { experts });
    if (payloadHash(p.meta) === meta.payload_hash) return p;
  }
  return undefined;
}

/**
 * The published genesis as blocks: its signed headers with their payloads rebuilt from the
 * checkpoint. Throws, naming `source`, unless the checkpoint rebuilds exactly the payload of every
 * header and every slot of its model has one.
 */
export function rebuildGenesis(file: GenesisFile, checkpoint: Uint8Array, source: string): Block[] {
  const [meta, ...rest] = file.headers;
  const payloads = matchingPayloads(checkpointModel(checkpoint, source), meta!);
  if (payloads === undefined) throw new Error(`${source} does not rebuild the payload of genesis meta block ${file.meta}`);
  const bySlot = new Map(payloads.slots.map((s) => [s.slot.name, s.payload]));
  if (rest.length !== bySlot.size) throw new Error(`the genesis has ${rest.length} slot blocks, the model of ${source} has ${bySlot.size} slots`);
  const blocks: Block[] = [{ header: meta!, payload: payloads.meta }];
  for (const header of rest) {
    const payload = bySlot.get(header.name);
    if (payload === undefined) throw new Error(`genesis block ${header.name} is no slot of the model of ${source}`);
    const fits = verifyPayload(header, payload);
    if (!fits.ok) throw new Error(`${source} does not rebuild genesis block ${header.name}: ${fits.code}: ${fits.message}`);
    bySlot.delete(header.name);
    blocks.push({ header, payload });
  }
  return blocks;
}

/**
 * Checks a whole genesis against the chain rules (structure, signatures, authority, payloads) on
 * its own before any of it is stored, so an import either takes every block or none.
 */
export async function checkGenesis(blocks: readonly Block[]): Promise<void> {
  const chain = new MemoryChain();
  for (const b of blocks) {
    const r = await chain.submit(b, { maxPayloadBytes: Number.MAX_SAFE_INTEGER });
    if (!r.ok) throw new Error(`genesis block ${b.header.name} is refused: ${r.code}: ${r.message}`);
  }
}

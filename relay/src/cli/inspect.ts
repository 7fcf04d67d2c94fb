import { type BlockHeader, decodeTensors, isHash } from '@blyan/block';
import { storeDir } from '../config.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { openStores } from '../store/open.ts';
import { type Log, STORE_OPTION, UsageError, backendsFrom, parse } from './args.ts';
import { formatTable } from './table.ts';

const PAGE = 500;

async function listBlocks(index: IndexStore, log: Log): Promise<void> {
  const rows: string[][] = [];
  for (let after = 0; ; ) {
    const page = await index.list(after, PAGE);
    if (page.length === 0) break;
    for (const b of page) {
      const h = b.header;
      rows.push([String(b.seq), h.chain, h.type, h.name, String(h.index), String(h.payload_size), b.hash, h.author]);
    }
    after = page.at(-1)!.seq;
  }
  log(formatTable(['seq', 'chain', 'type', 'name', 'index', 'bytes', 'hash', 'author'], rows));
}

async function payloadTable(h: BlockHeader, objects: ObjectStore, log: Log): Promise<void> {
  const payload = await objects.read(h.payload_hash);
  if (h.type === 'meta') {
    log(`payload (JSON): ${new TextDecoder().decode(payload)}`);
    return;
  }
  if (h.meta.encoding !== 'tensors-v1') {
    log(`payload: ${payload.length} bytes of ${h.meta.encoding}`);
    return;
  }
  const { tensors } = decodeTensors(payload);
  const rows = Object.entries(tensors).map(([name, t]) => [
    name,
    t.dtype,
    `[${t.shape.join(', ')}]`,
    String(t.data.byteLength + (t.dtype === 'i8' ? t.scales.byteLength : 0)),
  ]);
  log(formatTable(['tensor', 'dtype', 'shape', 'bytes'], rows));
}

/** `blyan inspect [HASH]`: every block in acceptance order, or one header and its tensor table. */
export async function inspect(args: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(args, STORE_OPTION, 1);
  const { index, objects } = await openStores(storeDir(values.store), 'readonly', backendsFrom(values));
  try {
    const hash = positionals[0];
    if (hash === undefined) {
      await listBlocks(index, log);
      return 0;
    }
    if (!isHash(hash)) throw new UsageError(`${hash} is not a block hash (64 lowercase hex characters)`);
    const b = await index.block(hash);
    if (!b) {
      log(`no block ${hash}`);
      return 1;
    }
    log(JSON.stringify({ hash: b.hash, seq: b.seq, version: b.version, slot: b.slot, header: b.header }, null, 2));
    await payloadTable(b.header, objects, log);
    return 0;
  } finally {
    await index.close();
  }
}

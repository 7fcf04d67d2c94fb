/**
 * Publishes a new version of one expert on a running relay, as its genesis authority may (only an
 * authority the meta block names moves a head through POST /v1/blocks):
 * `tsx apps/web/e2e/publish-expert.ts RELAY_URL SLOT KEY_FILE`. The new weights are the head's
 * weights negated, signed with the key in KEY_FILE; prints `{"hash": ...}` of the accepted block.
 */
import { type Hash, blockHash, buildBlock, decodeTensors, encodeBlock, encodeTensors, type TensorMap } from '@blyan/block';
import { RelayClient, loadVerifiedBlock } from '@blyan/client';
import { readFile } from 'node:fs/promises';
import { privateKeyToAccount } from 'viem/accounts';

const [url, slot, keyFile] = process.argv.slice(2);
if (!url || !slot || !keyFile) throw new Error('usage: tsx apps/web/e2e/publish-expert.ts RELAY_URL SLOT KEY_FILE');
const authority = privateKeyToAccount((await readFile(keyFile, 'utf8')).trim() as `0x${string}`);
const client = new RelayClient(url);
const params = await client.params();
const head = params.slots[slot];
if (!head) throw new Error(`no slot ${slot}`);
const { info, payload } = await loadVerifiedBlock(client, head);
const { tensors } = decodeTensors(payload);
const negated: TensorMap = {};
for (const [name, t] of Object.entries(tensors)) {
  if (t.dtype !== 'i8') throw new Error(`${name} is ${t.dtype}; this script negates int8 experts`);
  negated[name] = { ...t, data: t.data.map((v) => -v) };
}
const block = await buildBlock(
  {
    type: 'expert',
    index: info.header.index + 1,
    name: slot,
    depends_on: [params.meta, head as Hash],
    prev: head as Hash,
    payload: encodeTensors(negated),
    meta: { encoding: 'tensors-v1' },
  },
  authority,
);
const res = await fetch(`${url}/v1/blocks`, { method: 'POST', body: encodeBlock(block) as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream' } });
if (res.status !== 201) throw new Error(`the relay refused the new version: ${res.status} ${await res.text()}`);
console.log(JSON.stringify({ hash: blockHash(block.header) }));

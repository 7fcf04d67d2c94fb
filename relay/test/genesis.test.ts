import { readFile } from 'node:fs/promises';
import { blockHash, decodeTensors, encodeTensors } from '@blyan/block';
import { parseMetaPayload } from '@blyan/model/blocks';
import { describe, expect, it } from 'vitest';
import { currentBackend } from './backends.ts';
import { COMMITTED_CHECKPOINT, COMMITTED_GENESIS } from '../src/config.ts';
import { genesisFromCheckpoint, parseGenesisFile } from '../src/genesis.ts';
import { TINY, genesisAccount, importedBlocks, tinyCheckpoint } from './helpers.ts';

// Opens no store: run in the embedded project only.
describe.runIf(currentBackend() === 'embedded')('genesis from a checkpoint file', () => {
  it('carries the config, tokenizer and split hashes of the checkpoint into the meta block', async () => {
    const bytes = tinyCheckpoint();
    const { metadata } = decodeTensors(bytes);
    const [meta, ...slots] = await genesisFromCheckpoint(bytes, 'tiny.tensors', genesisAccount);
    const payload = parseMetaPayload(meta!.payload);
    expect(payload.config).toEqual(TINY);
    expect(payload.tokenizer).toEqual(JSON.parse(metadata.tokenizer!));
    expect(payload.splits).toEqual(JSON.parse(metadata.splits!));
    expect(slots).toHaveLength(1 + TINY.nLayers * (2 + TINY.nExperts));
  });

  it('refuses a truncated, corrupted or mis-shaped checkpoint with an error naming the file', async () => {
    const bytes = tinyCheckpoint();
    const { tensors, metadata } = decodeTensors(bytes);
    const refuse = (b: Uint8Array) => genesisFromCheckpoint(b, 'ckpt.tensors', genesisAccount);
    await expect(refuse(bytes.subarray(0, bytes.length - 1000))).rejects.toThrow(/^ckpt.tensors is truncated or corrupt/);
    const garbled = bytes.slice();
    garbled.fill(0x7b, 8, 40);
    await expect(refuse(garbled)).rejects.toThrow(/^ckpt.tensors is truncated or corrupt/);
    const wrongShape = { ...tensors, 'layers.1.wk': { dtype: 'f32' as const, shape: [4, 8], data: new Float32Array(32) } };
    await expect(refuse(encodeTensors(wrongShape, metadata))).rejects.toThrow('ckpt.tensors: tensor "layers.1.wk" has shape [4, 8] but the config needs [8, 8]');
    const { splits: _, ...noSplits } = metadata;
    await expect(refuse(encodeTensors(tensors, noSplits))).rejects.toThrow('ckpt.tensors: __metadata__ has no "splits"');
    await expect(refuse(encodeTensors(tensors, { ...metadata, config: JSON.stringify({ ...TINY, vocabSize: 301 }) }))).rejects.toThrow(
      'ckpt.tensors: the tokenizer has 300 tokens but the config\'s vocabSize is 301',
    );
  });
});

describe('the canonical genesis (public/genesis-v2)', () => {
  it('imports on two empty stores without any key, and both hold exactly the signed blocks it pins', async () => {
    const json = await readFile(COMMITTED_GENESIS, 'utf8');
    const checkpoint = await readFile(COMMITTED_CHECKPOINT);
    const file = parseGenesisFile(JSON.parse(json), COMMITTED_GENESIS);
    const meta = file.headers[0]!;
    if (meta.type !== 'meta') throw new Error('the genesis starts with its meta block');
    expect(meta.meta.authorities).toHaveLength(1);
    expect(meta.meta.evaluators).toHaveLength(1);
    const first = await importedBlocks(file, checkpoint);
    expect(first[0]).toBe(file.meta);
    expect(first).toEqual(file.headers.map((h) => blockHash(h)));
    // The second store, whose blocks are the pinned ones too, costs another 53 MB upload to the bucket on postgres+s3: embedded only.
    if (currentBackend() === 'embedded') expect(await importedBlocks(file, checkpoint)).toEqual(first);
  });
});

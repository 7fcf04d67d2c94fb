import { blockHash, decodeTensors, encodeTensors, toF32, verifyPayload, verifySignature } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../src/checkpoint.ts';
import { genesisBlocks } from '../src/genesis.ts';
import { archOf, slotPlan } from '../src/model-config.ts';
import { TINY, authority, genesisAccount, tinyCheckpoint } from './helpers.ts';

describe('genesis', () => {
  it('cuts a checkpoint into one meta block and one block per slot, all signed by the genesis key', async () => {
    const blocks = await genesisBlocks(tinyCheckpoint(), genesisAccount);
    const [meta, ...params] = blocks;
    if (meta?.header.type !== 'meta') throw new Error('the meta block comes first');
    expect(meta.header).toMatchObject({ chain: 'A', index: 0, prev: null, depends_on: [], author: authority });
    expect(meta.header.meta.arch).toBe(archOf(TINY));
    expect(JSON.parse(new TextDecoder().decode(meta.payload))).toEqual({ config: TINY });
    const names = ['embed', 'layer0.attn', 'layer0.router', 'layer0.expert0', 'layer0.expert1', 'layer0.expert2', 'layer0.expert3'];
    expect(meta.header.meta.slots.slice(0, 7).map((s) => s.name)).toEqual(names);
    expect(meta.header.meta.slots).toHaveLength(1 + TINY.nLayers * (2 + TINY.nExperts));
    expect(params.map((b) => ({ name: b.header.name, type: b.header.type }))).toEqual(meta.header.meta.slots);
    for (const b of blocks) {
      expect(verifyPayload(b.header, b.payload).ok).toBe(true);
      expect(await verifySignature(b.header)).toMatchObject({ ok: true, signer: authority });
    }
    for (const b of params) expect(b.header).toMatchObject({ chain: 'B', index: 0, prev: null, depends_on: [blockHash(meta.header)], meta: { encoding: 'tensors-v1' } });
  });

  it('keeps full parameter names; experts are int8 with per-channel scales, the rest as given', async () => {
    const source = decodeCheckpoint(tinyCheckpoint()).tensors;
    const blocks = await genesisBlocks(tinyCheckpoint(), genesisAccount);
    const byName = (n: string) => decodeTensors(blocks.find((b) => b.header.name === n)!.payload).tensors;
    expect(Object.keys(byName('embed')).sort()).toEqual(['embed', 'final_norm']);
    expect(Object.keys(byName('layer1.attn')).sort()).toEqual(['layers.1.attn_norm', 'layers.1.ffn_norm', 'layers.1.wk', 'layers.1.wo', 'layers.1.wq', 'layers.1.wv']);
    expect(Object.keys(byName('layer1.router'))).toEqual(['layers.1.router']);
    const expert = byName('layer1.expert3');
    expect(Object.keys(expert).sort()).toEqual(['layers.1.experts.3.w1', 'layers.1.experts.3.w2', 'layers.1.experts.3.w3']);
    for (const [name, t] of Object.entries(expert)) {
      expect(t.dtype).toBe('i8');
      if (t.dtype !== 'i8') continue;
      expect(t.scales.length).toBe(t.shape[0]);
      const original = toF32(source[name]!);
      const restored = toF32(t);
      for (let i = 0; i < original.length; i++) {
        expect(Math.abs(restored[i]! - original[i]!)).toBeLessThanOrEqual(t.scales[Math.floor(i / t.shape[1]!)]! / 2 + 1e-9);
      }
    }
    expect(byName('layer0.attn')['layers.0.wq']!.dtype).toBe('f32');
  });

  it('stores experts as exact f32 when asked', async () => {
    const source = decodeCheckpoint(tinyCheckpoint()).tensors;
    const blocks = await genesisBlocks(tinyCheckpoint(), genesisAccount, { f32: true });
    const t = decodeTensors(blocks.find((b) => b.header.name === 'layer0.expert1')!.payload).tensors['layers.0.experts.1.w2']!;
    expect(t.dtype).toBe('f32');
    expect(Array.from(toF32(t))).toEqual(Array.from(toF32(source['layers.0.experts.1.w2']!)));
  });

  it('hashes the config independently of key order into meta.arch', () => {
    const reordered = Object.fromEntries(Object.entries(TINY).reverse()) as typeof TINY;
    expect(archOf(reordered)).toBe(archOf(TINY));
    expect(archOf({ ...TINY, dFF: 32 })).not.toBe(archOf(TINY));
  });

  it('refuses checkpoints that do not match their config', () => {
    const { tensors } = decodeCheckpoint(tinyCheckpoint());
    const without = (name: string) => Object.fromEntries(Object.entries(tensors).filter(([n]) => n !== name));
    expect(() => decodeCheckpoint(encodeTensors(tensors))).toThrow(/no __metadata__.config/);
    expect(() => decodeCheckpoint(encodeTensors(tensors, { config: '{' }))).toThrow(/not JSON/);
    expect(() => decodeCheckpoint(encodeCheckpoint({ config: { ...TINY, nLayers: 0 }, tensors }))).toThrow(/nLayers must be a positive integer/);
    expect(() => decodeCheckpoint(encodeCheckpoint({ config: TINY, tensors: without('layers.1.wk') }))).toThrow(/lacks tensor layers.1.wk/);
    expect(() => decodeCheckpoint(encodeCheckpoint({ config: { ...TINY, dFF: 8 }, tensors }))).toThrow(/has shape \[16, 8\], config says \[8, 8\]/);
    expect(() => decodeCheckpoint(encodeCheckpoint({ config: TINY, tensors: { ...tensors, extra: tensors.final_norm! } }))).toThrow(/unexpected tensor extra/);
    expect(() => decodeCheckpoint(new Uint8Array(3))).toThrow();
  });

  it('plans every slot of the model with its tensors', () => {
    const plan = slotPlan(TINY);
    expect(plan).toHaveLength(1 + 2 * (2 + 4));
    expect(plan.flatMap((s) => s.tensors).length).toBe(2 + 2 * (6 + 1 + 4 * 3));
    expect(plan.find((s) => s.name === 'layer1.expert0')!.tensors.map((t) => t.shape)).toEqual([[16, 8], [8, 16], [16, 8]]);
    expect(new Set(plan.map((s) => s.name)).size).toBe(plan.length);
  });
});

import { type Block, blockHash, decodeTensors, encodeTensors, quantizeInt8, verifyPayload, verifySignature } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { type ModelConfig, type ParamMap, Tokenizer, initParams, prefill, trainTokenizer } from '../src/index.ts';
import { type MetaPayload, archOf, encodeMetaPayload, genesisBlocks, parseMetaPayload, slotParams, slotPlan, slotTensors } from '../src/blocks/index.ts';
import { withInt8Experts } from '../src/eval/quantize.ts';

const CFG: ModelConfig = { vocabSize: 280, dModel: 16, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 24, contextLength: 32, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const TEXT = 'the router picks two experts of four for every token, and the client fetches only those experts, then checks every tile. '.repeat(4);
const tokenizer = trainTokenizer([TEXT], CFG.vocabSize);
const params = initParams(CFG, 7);
const splits = { train: 'a'.repeat(64), val: 'b'.repeat(64), hidden: 'c'.repeat(64) };
const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const author = account.address.toLowerCase();
const prompt = tokenizer.encode('the client fetches two experts');

const genesis = (experts?: 'int8' | 'f32') => genesisBlocks({ config: CFG, tokenizer, params, splits }, account, { experts, createdAt: 1_700_000_000_000 });

/** What a client does: parse the meta block, then rebuild every parameter from its slot's block. */
function modelFromBlocks([meta, ...rest]: Block[]): { cfg: ModelConfig; tokenizer: Tokenizer; params: ParamMap } {
  const payload = parseMetaPayload(meta!.payload);
  const byName = new Map(rest.map((b) => [b.header.name, b.payload]));
  const out: ParamMap = {};
  for (const slot of slotPlan(payload.config)) Object.assign(out, slotParams(slot, byName.get(slot.name)!));
  return { cfg: payload.config, tokenizer: Tokenizer.fromJSON(payload.tokenizer), params: out };
}

describe('genesis blocks', () => {
  it('are a meta block, then one block per slot depending on it, all signed by the genesis key', async () => {
    const blocks = await genesis();
    const [meta, ...slots] = blocks;
    if (meta?.header.type !== 'meta') throw new Error('the meta block comes first');
    expect(meta.header).toMatchObject({ chain: 'A', index: 0, prev: null, depends_on: [], author, meta: { arch: archOf(CFG) } });
    const payload = parseMetaPayload(meta.payload);
    expect(payload).toMatchObject({ config: CFG, splits, routing: { topK: 2, staticExpertsPerLayer: 4 }, quantization: { experts: 'int8', dense: 'f32' } });
    expect(payload.tokenizer).toEqual(tokenizer.toJSON());
    expect(slots.map((b) => ({ name: b.header.name, type: b.header.type }))).toEqual(meta.header.meta.slots);
    expect(slots).toHaveLength(1 + CFG.nLayers * (2 + CFG.nExperts));
    for (const b of slots) expect(b.header).toMatchObject({ chain: 'B', index: 0, prev: null, depends_on: [blockHash(meta.header)], meta: { encoding: 'tensors-v1' } });
    for (const b of blocks) {
      expect(verifyPayload(b.header, b.payload).ok).toBe(true);
      expect(await verifySignature(b.header)).toMatchObject({ ok: true, signer: author });
    }
  });

  it('put every parameter in exactly one slot, experts int8 with one scale per row, the rest f32', async () => {
    const blocks = await genesis();
    const names = slotPlan(CFG).flatMap((s) => s.tensors.map((t) => t.name));
    expect(names.sort()).toEqual(Object.keys(params).sort());
    const tensors = (name: string) => decodeTensors(blocks.find((b) => b.header.name === name)!.payload).tensors;
    expect(Object.keys(tensors('layer1.expert3')).sort()).toEqual(['layers.1.experts.3.w1', 'layers.1.experts.3.w2', 'layers.1.experts.3.w3']);
    for (const t of Object.values(tensors('layer1.expert3'))) expect(t.dtype === 'i8' && t.scales.length === t.shape[0]).toBe(true);
    for (const t of Object.values(tensors('layer0.attn'))) expect(t.dtype).toBe('f32');
  });

  it('round-trip to bit-identical logits: f32 experts give the checkpoint, int8 experts its int8 version', async () => {
    const logits = (p: ParamMap, cfg = CFG) => Array.from(prefill(p, cfg, prompt).logits);
    const exact = modelFromBlocks(await genesis('f32'));
    expect(exact.cfg).toEqual(CFG);
    expect(exact.tokenizer.encode(TEXT)).toEqual(tokenizer.encode(TEXT));
    expect(logits(exact.params, exact.cfg)).toEqual(logits(params));
    const int8 = modelFromBlocks(await genesis('int8'));
    expect(logits(int8.params)).toEqual(logits(withInt8Experts(params, CFG)));
    expect(logits(int8.params)).not.toEqual(logits(params));
  });

  it('hash the config into meta.arch independently of key order', () => {
    const reordered = Object.fromEntries(Object.entries(CFG).reverse()) as unknown as ModelConfig;
    expect(archOf(reordered)).toBe(archOf(CFG));
    expect(archOf({ ...CFG, dFF: 32 })).not.toBe(archOf(CFG));
  });
});

describe('bad blocks give clear errors', () => {
  const slot = slotPlan(CFG).find((s) => s.name === 'layer0.expert1')!;
  const good = async () => (await genesis()).find((b) => b.header.name === slot.name)!.payload;

  it('a payload with a wrong-shape, missing, extra or wrongly typed tensor', async () => {
    const { tensors } = decodeTensors(await good());
    const w1 = tensors['layers.0.experts.1.w1']!;
    expect(() => slotTensors(slot, encodeTensors({ ...tensors, 'layers.0.experts.1.w1': { dtype: 'f32', shape: [8, 16], data: new Float32Array(128) } }))).toThrow(
      'block layer0.expert1: tensor "layers.0.experts.1.w1" has shape [8, 16], the model needs [24, 16]',
    );
    const { ['layers.0.experts.1.w2']: _, ...without } = tensors;
    expect(() => slotTensors(slot, encodeTensors(without))).toThrow('block layer0.expert1: missing tensor "layers.0.experts.1.w2"');
    expect(() => slotTensors(slot, encodeTensors({ ...tensors, extra: w1 }))).toThrow('block layer0.expert1: unexpected tensor "extra"');
    const attn = slotPlan(CFG).find((s) => s.name === 'layer0.attn')!;
    const attnTensors = decodeTensors((await genesis()).find((b) => b.header.name === 'layer0.attn')!.payload).tensors;
    expect(() => slotTensors(attn, encodeTensors({ ...attnTensors, 'layers.0.wq': quantizeInt8(new Float32Array(256).fill(0.5), [16, 16]) }))).toThrow(/"layers.0.wq" is i8, dense tensors must be f32/);
  });

  it('a truncated payload', async () => {
    const payload = await good();
    expect(() => slotParams(slot, payload.subarray(0, payload.length - 100))).toThrow(/^block layer0.expert1: /);
  });

  it('a model with sequence budgets: the meta block carries its budget modes, default 40 % and 20 % of the experts; out-of-range ones are refused', async () => {
    const cfg: ModelConfig = { ...CFG, nExperts: 16, sequenceBudgets: { localityLossCoef: 0.01 } };
    const blocks = await genesisBlocks({ config: cfg, tokenizer, params: initParams(cfg, 8), splits }, account, { createdAt: 1 });
    const meta = parseMetaPayload(blocks[0]!.payload);
    expect(meta.routing).toEqual({ modes: ['dynamic', 'static'], topK: 2, staticExpertsPerLayer: 6, budgets: { default: 6, lowBandwidth: 3 } });
    expect(blocks[0]!.header.meta).toMatchObject({ arch: archOf(cfg) });
    expect(archOf(cfg)).not.toBe(archOf({ ...cfg, sequenceBudgets: { localityLossCoef: 0.1 } }));
    const bad = (budgets: unknown) => encodeMetaPayload({ ...meta, routing: { ...meta.routing, budgets } } as MetaPayload);
    for (const budgets of [undefined, { default: 6, lowBandwidth: 1 }, { default: 17, lowBandwidth: 3 }, { default: 3, lowBandwidth: 6 }]) {
      expect(() => parseMetaPayload(bad(budgets)), JSON.stringify(budgets)).toThrow(/routing.budgets must hold integers lowBandwidth ≤ default in \[2, 16\]/);
    }
  });

  it('a meta payload whose tokenizer does not match the config, or that is malformed', async () => {
    const meta = parseMetaPayload((await genesis())[0]!.payload);
    const other = trainTokenizer([TEXT], 270).toJSON();
    const bad = (change: Partial<Record<keyof MetaPayload, unknown>>) => encodeMetaPayload({ ...meta, ...change } as MetaPayload);
    expect(() => parseMetaPayload(bad({ tokenizer: other }))).toThrow('meta payload: the tokenizer has 270 tokens but config.vocabSize is 280');
    expect(() => parseMetaPayload(bad({ format: 'v0' }))).toThrow('meta payload: format must be "blyan-meta-v1", got "v0"');
    expect(() => parseMetaPayload(bad({ config: { ...CFG, nHeads: 3 } }))).toThrow(/meta payload: config.dModel \(16\) must be divisible/);
    expect(() => parseMetaPayload(bad({ routing: { ...meta.routing, staticExpertsPerLayer: 9 } }))).toThrow(/staticExpertsPerLayer must be an integer in \[2, 4\], got 9/);
    expect(() => parseMetaPayload(bad({ quantization: { experts: 'int4', dense: 'f32' } }))).toThrow(/quantization.experts/);
    expect(() => parseMetaPayload(bad({ routing: { ...meta.routing, budgets: { default: 3, lowBandwidth: 2 } } }))).toThrow(/routing.budgets needs a model with config.sequenceBudgets/);
    expect(() => parseMetaPayload(new TextEncoder().encode('{"format":'))).toThrow(/^meta payload: not UTF-8 JSON/);
    expect(() => parseMetaPayload(Uint8Array.of(0xff, 0xfe))).toThrow(/^meta payload: not UTF-8 JSON/);
  });
});

/**
 * Growing the model for new data (issue 14) on the CPU reference, the spec: new experts change
 * nothing for a prompt that does not route to them, upcycling copies the most-routed experts, and
 * the grown model's blocks decode to exactly the grown parameters.
 */
import { describe, expect, it } from 'vitest';
import { encodeSlotPayload, parseMetaPayload, slotParams, slotPlan } from '../src/blocks/index.ts';
import { encodeMetaPayload, type MetaPayload } from '../src/blocks/meta-payload.ts';
import { growModel, grownPayloads, mostRouted, planGrowth, routingCounts } from '../src/grow/index.ts';
import { type ModelConfig, type ParamMap, Rng, type Routing, expertTensorNames, expertsUsed, greedyDecode, prefill } from '../src/reference/index.ts';
import { trainTokenizer } from '../src/tokenizer/index.ts';
import { randomParams } from './compare.ts';

const CFG: ModelConfig = { vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, nExperts: 4, topK: 2, dFF: 12, contextLength: 16, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const BASE = CFG.nExperts;

/** Eight experts, so that a new expert whose router row is small is picked for some prompts and not others. */
const WIDE: ModelConfig = { ...CFG, nExperts: 8 };

/** WIDE grown by two experts per layer, the new router rows set to small random values, as training might leave them. */
function trainedGrowth(params: ParamMap, seed: number) {
  const grown = growModel({ config: WIDE, params }, [[2, 0], [1, 3]]);
  const rng = new Rng(seed);
  const out: ParamMap = { ...grown.params };
  for (let l = 0; l < WIDE.nLayers; l++) {
    const router = out[`layers.${l}.router`]!.slice();
    for (let i = WIDE.nExperts * WIDE.dModel; i < router.length; i++) router[i] = 0.1 * rng.normal();
    out[`layers.${l}.router`] = router;
  }
  return { config: grown.config, params: out };
}

const prompts = (count: number, length: number, seed: number): number[][] => {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length }, () => Math.floor(rng.next() * CFG.vocabSize)));
};

const routesToNew = (state: Parameters<typeof expertsUsed>[0]): boolean => expertsUsed(state).some((layer) => layer.some((e) => e >= WIDE.nExperts));

describe('growModel: a prompt that routes to no new expert gets the ungrown model\'s logits bit for bit', () => {
  const params = randomParams(WIDE, 7);
  const grown = trainedGrowth(params, 11);
  for (const routing of [{ mode: 'dynamic' }, { mode: 'static-prompt', expertsPerLayer: 2 }, { mode: 'static-prompt', expertsPerLayer: 3 }] as const satisfies readonly Routing[]) {
    it(`${routing.mode}${'expertsPerLayer' in routing ? ` (${routing.expertsPerLayer} experts per layer)` : ''}`, () => {
      let untouched = 0;
      let touched = 0;
      for (const prompt of prompts(60, 4, 3)) {
        const before = greedyDecode(params, WIDE, prompt, 3, routing);
        const after = greedyDecode(grown.params, grown.config, prompt, 3, routing);
        if (routesToNew(after.state)) {
          touched++;
          continue;
        }
        untouched++;
        expect(after.prefillLogits).toEqual(before.prefillLogits);
        expect(after.lastLogits).toEqual(before.lastLogits);
        expect(after.tokens).toEqual(before.tokens);
      }
      // Both kinds occur, so the equality above is checked and the new experts are reachable.
      expect(untouched).toBeGreaterThan(3);
      expect(touched).toBeGreaterThan(3);
    });
  }

  it('a prompt that routes to a new expert does change the logits (the comparison can fail)', () => {
    const prompt = prompts(40, 6, 3).find((p) => routesToNew(prefill(grown.params, grown.config, p, { mode: 'dynamic' }).state))!;
    expect(prefill(grown.params, grown.config, prompt, { mode: 'dynamic' }).logits).not.toEqual(prefill(params, WIDE, prompt, { mode: 'dynamic' }).logits);
  });
});

describe('growModel: sparse upcycling', () => {
  it('copies each source expert into a new one, appends zero router rows, and leaves the rest as it was', () => {
    const params = randomParams(CFG, 2);
    const { config, params: grown } = growModel({ config: CFG, params }, [[2, 0], [1, 3]]);
    expect(config).toEqual({ ...CFG, nExperts: 6, baseExperts: 4 });
    for (const [l, sources] of [[2, 0], [1, 3]].entries()) {
      for (const [i, source] of sources.entries()) {
        const [from, to] = [expertTensorNames(l, source), expertTensorNames(l, BASE + i)];
        for (const w of ['w1', 'w3', 'w2'] as const) {
          expect(grown[to[w]]).toEqual(params[from[w]]);
          expect(grown[to[w]]).not.toBe(params[from[w]]);
        }
      }
      const router = grown[`layers.${l}.router`]!;
      expect(router.subarray(0, BASE * CFG.dModel)).toEqual(params[`layers.${l}.router`]);
      expect([...router.subarray(BASE * CFG.dModel)].every((x) => x === 0)).toBe(true);
    }
    for (const name of Object.keys(params)) if (!name.endsWith('.router')) expect(grown[name]).toBe(params[name]);
    expect(params['layers.0.router']!.length).toBe(BASE * CFG.dModel);
  });

  it('growing again keeps the router normalized over the first experts', () => {
    const once = growModel({ config: CFG, params: randomParams(CFG, 2) }, [[0], [1]]);
    const twice = growModel(once, [[4, 1], [0, 4]]);
    expect(twice.config.nExperts).toBe(7);
    expect(twice.config.baseExperts).toBe(4);
  });

  it('refuses uneven layers and unknown sources', () => {
    const model = { config: CFG, params: randomParams(CFG, 2) };
    expect(() => growModel(model, [[0, 1], [2]])).toThrow('every layer must add as many');
    expect(() => growModel(model, [[0], [4]])).toThrow('source expert 4 is not in [0, 4)');
    expect(() => growModel(model, [[0]])).toThrow('1 source lists for 2 layers');
  });

  it('routingCounts counts the top-K picks of dynamic routing, as inference routes the same windows', () => {
    const params = randomParams(CFG, 5);
    const rng = new Rng(9);
    const stream = Int32Array.from({ length: 3 * CFG.contextLength + 5 }, () => Math.floor(rng.next() * CFG.vocabSize));
    const counts = routingCounts(params, CFG, stream);
    const expected = Array.from({ length: CFG.nLayers }, () => new Array<number>(CFG.nExperts).fill(0));
    for (let w = 0; w < 3; w++) {
      const { state } = prefill(params, CFG, stream.subarray(w * CFG.contextLength, (w + 1) * CFG.contextLength), { mode: 'dynamic' });
      for (const [l, routes] of state.routes.entries()) for (const r of routes) for (const e of r.experts) expected[l]![e]!++;
    }
    expect(counts).toEqual(expected);
    expect(counts.flat().reduce((a, b) => a + b, 0)).toBe(3 * CFG.contextLength * CFG.topK * CFG.nLayers);
    expect(routingCounts(params, CFG, stream, 1).flat().reduce((a, b) => a + b, 0)).toBe(CFG.contextLength * CFG.topK * CFG.nLayers);
  });

  it('mostRouted picks the most-picked experts, most first, ties to the lower index', () => {
    expect(mostRouted([[5, 9, 9, 1], [0, 0, 3, 0]], 2)).toEqual([[1, 2], [2, 0]]);
    expect(() => mostRouted([[1, 2]], 3)).toThrow('cannot pick 3 of 2 experts');
  });
});

describe('grown blocks', () => {
  const cfg: ModelConfig = { ...CFG, vocabSize: 280 };
  const tokenizer = trainTokenizer(['new experts start as copies of the experts the router picks most for the new text. '.repeat(3)], cfg.vocabSize);
  const params = randomParams(cfg, 4);
  const meta: MetaPayload = {
    format: 'blyan-meta-v1',
    config: cfg,
    tokenizer: tokenizer.toJSON(),
    routing: { modes: ['dynamic', 'static'], topK: 2, staticExpertsPerLayer: 2 },
    quantization: { experts: 'int8', dense: 'f32' },
    splits: { train: 'a', val: 'b', hidden: 'c' },
  };
  const slots = new Map(slotPlan(cfg).map((slot) => [slot.name, encodeSlotPayload(slot, params, 'int8')]));
  const data = { name: 'new-text', block: 'ab'.repeat(32), stream: Int32Array.from(tokenizer.encode('the router picks the experts for this text, and new experts copy them. '.repeat(4))) };
  const decoded: ParamMap = Object.assign({}, ...slotPlan(cfg).map((slot) => slotParams(slot, slots.get(slot.name)!)));

  it('planGrowth upcycles the experts the router picks most on the dataset\'s text', () => {
    const { record, counts } = planGrowth(cfg, decoded, data, 2);
    expect(data.stream.length).toBeGreaterThan(2 * cfg.contextLength);
    expect(record).toEqual({ dataset: 'new-text', datasetBlock: data.block, first: 4, sources: mostRouted(routingCounts(decoded, cfg, data.stream), 2) });
    expect(counts).toEqual(routingCounts(decoded, cfg, data.stream));
  });

  it('decode to growModel\'s parameters exactly; old slots keep their bytes; new experts are their sources\' int8 bytes', () => {
    const { record } = planGrowth(cfg, decoded, data, 2);
    const out = grownPayloads(meta, slots, record);
    const grown = growModel({ config: cfg, params: decoded }, record.sources);
    const grownMeta = JSON.parse(new TextDecoder().decode(out.meta)) as MetaPayload;
    expect(grownMeta.config).toEqual(grown.config);
    expect(grownMeta.growth).toEqual([record]);
    expect(out.slots.map((s) => s.slot.name)).toEqual(slotPlan(grown.config).map((s) => s.name));
    for (const { slot, payload } of out.slots) {
      expect(slotParams(slot, payload)).toEqual(Object.fromEntries(slot.tensors.map((t) => [t.name, grown.params[t.name]])));
      if (slot.type !== 'router' && slots.has(slot.name)) expect(payload).toBe(slots.get(slot.name));
    }
  });

  it('refuse a bad growth record with the meta parser\'s reason, before encoding any block', () => {
    const { record } = planGrowth(cfg, decoded, data, 2);
    const grow = (r: unknown) => () => grownPayloads(meta, slots, r as typeof record);
    expect(grow({ ...record, datasetBlock: 'x' })).toThrow('growth: the record does not describe a valid growth: meta payload: growth[0].datasetBlock must be a block hash');
    expect(grow({ ...record, dataset: '' })).toThrow('growth[0].dataset must name a dataset');
    expect(grow({ ...record, sources: [[0, 5], [1, 2]] })).toThrow('source expert 5 is not in [0, 4)');
    expect(grow({ ...record, sources: [[0, 1], [2]] })).toThrow('growth[0].sources[1] must list 2 source experts');
    expect(grow({ ...record, sources: [[0, 1]] })).toThrow(`growth[0].sources must list ${cfg.nLayers} layers`);
    expect(grow({ ...record, first: 3 })).toThrow('growth: the first new expert must be 4, got 3');
  });

  it('parseMetaPayload checks the growth against the config', () => {
    const { record } = planGrowth(cfg, decoded, data, 2);
    const grownMeta = JSON.parse(new TextDecoder().decode(grownPayloads(meta, slots, record).meta)) as MetaPayload;
    const parse = (m: unknown) => parseMetaPayload(encodeMetaPayload(m as MetaPayload));
    expect(parse(grownMeta).growth).toEqual([record]);
    expect(() => parse({ ...grownMeta, growth: undefined })).toThrow('must list its growth');
    expect(() => parse({ ...meta, growth: [record] })).toThrow('growth needs a model with config.baseExperts');
    expect(() => parse({ ...grownMeta, growth: [{ ...record, first: 3 }] })).toThrow('growth[0].first must be 4');
    expect(() => parse({ ...grownMeta, growth: [{ ...record, sources: [[0, 5], [1, 2]] }] })).toThrow('source expert 5 is not in [0, 4)');
    expect(() => parse({ ...grownMeta, growth: [{ ...record, sources: [[0], [1]] }] })).toThrow('growth adds experts up to 5, config.nExperts is 6');
    expect(() => parse({ ...grownMeta, growth: [{ ...record, datasetBlock: 'x' }] })).toThrow('growth[0].datasetBlock must be a block hash');
  });
});

import { describe, expect, it } from 'vitest';
import {
  type AllowedSet,
  MissingExpertError,
  type ModelConfig,
  type ParamMap,
  type Routing,
  chooseStaticExperts,
  decodeStep,
  expertTensorNames,
  expertsUsed,
  forward,
  initParams,
  LayeredPrefill,
  prefill,
} from '../src/reference/index.ts';

const CFG: ModelConfig = { vocabSize: 32, dModel: 16, nLayers: 3, nHeads: 2, nExperts: 8, topK: 2, dFF: 24, contextLength: 16, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };
const PARAMS = initParams(CFG, 7);
const SEQ = [5, 17, 3, 3, 28, 0, 9, 31, 12, 4, 4, 20];
const PROMPT = 4;

/** Logits after the prompt, then after each further token of `seq`, plus the final state. */
function generate(params: ParamMap, seq: readonly number[], routing: Routing): { steps: Float32Array[]; state: ReturnType<typeof prefill<Float32Array>>['state'] } {
  const { logits, state } = prefill(params, CFG, seq.slice(0, PROMPT), routing);
  const steps = [logits];
  for (const token of seq.slice(PROMPT)) steps.push(decodeStep(state, token));
  return { steps, state };
}

const allExperts = Array.from({ length: CFG.nExperts }, (_, e) => e);

describe('prefill and decode', () => {
  it('give, bit for bit, the logits of a full forward pass at every position', () => {
    const full = forward(PARAMS, CFG, SEQ, SEQ, 1, SEQ.length);
    const { steps, state } = generate(PARAMS, SEQ.slice(0, -1), { mode: 'dynamic' });
    expect(state.pos).toBe(SEQ.length - 1);
    for (const [i, logits] of steps.entries()) {
      const p = PROMPT - 1 + i;
      expect(logits, `position ${p}`).toEqual(full.logits.subarray(p * CFG.vocabSize, (p + 1) * CFG.vocabSize));
    }
    for (let l = 0; l < CFG.nLayers; l++) {
      expect(state.routes[l]!.flatMap((r) => r.experts)).toEqual(Array.from(full.layers[l]!.acts.moe.experts.subarray(0, (SEQ.length - 1) * CFG.topK)));
    }
  });

  it('are deterministic', () => {
    const a = generate(PARAMS, SEQ, { mode: 'dynamic' });
    const b = generate(initParams(CFG, 7), SEQ, { mode: 'dynamic' });
    expect(a.steps).toEqual(b.steps);
    expect(a.state.routes).toEqual(b.state.routes);
  });

  it('refuse to go past contextLength', () => {
    const { state } = prefill(PARAMS, CFG, Array.from({ length: CFG.contextLength }, (_, i) => i));
    expect(() => decodeStep(state, 1)).toThrow(/contextLength 16/);
  });
});

describe('static routing', () => {
  it('with every expert allowed equals dynamic routing bit for bit', () => {
    const dynamic = generate(PARAMS, SEQ, { mode: 'dynamic' });
    const everyExpert: AllowedSet[] = Array.from({ length: CFG.nLayers }, () => allExperts);
    const nulls: AllowedSet[] = Array.from({ length: CFG.nLayers }, () => null);
    for (const allowed of [everyExpert, nulls]) {
      const fixed = generate(PARAMS, SEQ, { mode: 'static', allowed });
      expect(fixed.steps).toEqual(dynamic.steps);
      expect(fixed.state.routes).toEqual(dynamic.state.routes);
    }
  });

  it("with sets holding every token's top-2 equals dynamic routing, and differs when a used expert is left out", () => {
    const dynamic = generate(PARAMS, SEQ, { mode: 'dynamic' });
    const used = expertsUsed(dynamic.state);
    expect(used.some((set) => set.length < CFG.nExperts)).toBe(true);
    const fixed = generate(PARAMS, SEQ, { mode: 'static', allowed: used });
    expect(fixed.steps).toEqual(dynamic.steps);
    const layer = used.findIndex((set) => set.length > CFG.topK);
    const fewer = used.map((set, l) => (l === layer ? set.slice(1) : set));
    expect(generate(PARAMS, SEQ, { mode: 'static', allowed: fewer }).steps).not.toEqual(dynamic.steps);
  });

  it("chosen from the prompt picks each layer's set from that layer's router probabilities under the earlier layers' sets", () => {
    const m = 3;
    const { logits, state } = prefill(PARAMS, CFG, SEQ.slice(0, PROMPT), { mode: 'static-prompt', expertsPerLayer: m });
    for (let l = 0; l < CFG.nLayers; l++) {
      const earlier = state.allowed.map((set, k) => (k < l ? set : null));
      const probe = prefill(PARAMS, CFG, SEQ.slice(0, PROMPT), { mode: 'static', allowed: earlier }).state;
      expect(state.allowed[l]).toEqual(chooseStaticExperts(probe.routes[l]!.map((r) => r.probs), m));
    }
    expect(prefill(PARAMS, CFG, SEQ.slice(0, PROMPT), { mode: 'static', allowed: state.allowed }).logits).toEqual(logits);
  });

  it('chosen from the prompt keeps its sets while decoding, as a full pass with those sets would', () => {
    const { steps, state } = generate(PARAMS, SEQ, { mode: 'static-prompt', expertsPerLayer: 3 });
    const sets = state.allowed;
    for (const [l, set] of sets.entries()) {
      expect(set).toHaveLength(3);
      for (const route of state.routes[l]!) for (const e of route.experts) expect(set).toContain(e);
    }
    for (const [i, logits] of steps.entries()) {
      const upto = SEQ.slice(0, PROMPT + i);
      expect(prefill(PARAMS, CFG, upto, { mode: 'static', allowed: sets }).logits, `after ${upto.length} tokens`).toEqual(logits);
    }
  });

  it('chooseStaticExperts takes the largest summed probabilities, ties to the lower index, in ascending order', () => {
    const probs = [
      [0.125, 0.375, 0.375, 0.125],
      [0.25, 0.125, 0.375, 0.25],
    ];
    expect(chooseStaticExperts(probs, 1)).toEqual([2]);
    expect(chooseStaticExperts(probs, 2)).toEqual([1, 2]);
    expect(chooseStaticExperts(probs, 3)).toEqual([0, 1, 2]);
    expect(() => chooseStaticExperts(probs, 5)).toThrow(/m must be an integer in \[1, 4\]/);
    expect(() => chooseStaticExperts([], 1)).toThrow(/at least one token/);
  });

  it('rejects malformed allowed sets', () => {
    const bad = (set: number[]): Routing => ({ mode: 'static', allowed: [set, null, null] });
    expect(() => prefill(PARAMS, CFG, [1], bad([3, 1]))).toThrow(/layer 0: allowed experts must be distinct and ascending/);
    expect(() => prefill(PARAMS, CFG, [1], bad([1, 8]))).toThrow(/layer 0: allowed expert 8 is not in \[0, 8\)/);
    expect(() => prefill(PARAMS, CFG, [1], bad([4]))).toThrow(/layer 0: 1 allowed experts but every token needs topK = 2/);
    expect(() => prefill(PARAMS, CFG, [1], { mode: 'static', allowed: [null] })).toThrow(/1 allowed sets for 3 layers/);
    expect(() => prefill(PARAMS, CFG, [1], { mode: 'static-prompt', expertsPerLayer: 1 })).toThrow(/expertsPerLayer must be an integer in \[topK = 2, nExperts = 8\]/);
  });
});

describe('partially downloaded experts', () => {
  const without = (params: ParamMap, layer: number, expert: number): ParamMap => {
    const copy = { ...params };
    for (const name of Object.values(expertTensorNames(layer, expert))) delete copy[name];
    return copy;
  };

  it('run unchanged when the absent experts are not routed to', () => {
    const dynamic = generate(PARAMS, SEQ, { mode: 'dynamic' });
    const used = expertsUsed(dynamic.state);
    let partial = PARAMS;
    for (const [l, set] of used.entries()) for (const e of allExperts) if (!set.includes(e)) partial = without(partial, l, e);
    expect(Object.keys(partial).length).toBeLessThan(Object.keys(PARAMS).length);
    expect(generate(partial, SEQ, { mode: 'dynamic' }).steps).toEqual(dynamic.steps);
  });

  it('throw MissingExpertError naming a routed-to expert that is absent', () => {
    const { state } = prefill(PARAMS, CFG, SEQ.slice(0, PROMPT));
    const [layer, expert] = [1, state.routes[1]![0]!.experts[0]!];
    const run = (): unknown => prefill(without(PARAMS, layer, expert), CFG, SEQ.slice(0, PROMPT));
    expect(run).toThrow(MissingExpertError);
    expect(run).toThrow(`layer 1 routes tokens to expert ${expert}, but its weights (layers.1.experts.${expert}.w1, layers.1.experts.${expert}.w3, layers.1.experts.${expert}.w2) are not loaded`);
    try {
      run();
    } catch (err) {
      expect(err).toMatchObject({ layer, expert });
    }
  });

  it('let a decode step be retried after the missing expert is added', () => {
    const reference = generate(PARAMS, SEQ.slice(0, PROMPT + 1), { mode: 'dynamic' });
    const layer = reference.state.routes.findIndex((routes) => routes[PROMPT]!.experts.some((e) => !routes.slice(0, PROMPT).some((r) => r.experts.includes(e))));
    expect(layer, 'the next token must need an expert the prompt did not').toBeGreaterThanOrEqual(0);
    const routes = reference.state.routes[layer]!;
    const nextExpert = routes[PROMPT]!.experts.find((e) => !routes.slice(0, PROMPT).some((r) => r.experts.includes(e)))!;
    const params = { ...PARAMS };
    const names = Object.values(expertTensorNames(layer, nextExpert));
    const { state } = prefill(params, CFG, SEQ.slice(0, PROMPT));
    for (const name of names) delete params[name];
    expect(() => decodeStep(state, SEQ[PROMPT]!)).toThrow(MissingExpertError);
    expect(state.pos).toBe(PROMPT);
    expect(state.routes[0]).toHaveLength(PROMPT);
    for (const name of names) params[name] = PARAMS[name]!;
    expect(decodeStep(state, SEQ[PROMPT]!)).toEqual(reference.steps[1]);
    expect(state.routes).toEqual(reference.state.routes);
  });

  it('reject an expert with only some of its tensors', () => {
    const params = { ...PARAMS };
    delete params['layers.0.experts.3.w2'];
    expect(() => prefill(params, CFG, [1])).toThrow('expert layers.0.experts.3 is incomplete: missing layers.0.experts.3.w2');
  });
});

describe('LayeredPrefill', () => {
  const withoutExperts = (): ParamMap => Object.fromEntries(Object.entries(PARAMS).filter(([name]) => !name.includes('.experts.')));
  const add = (params: ParamMap, layer: number, experts: readonly number[]) => {
    for (const e of experts) for (const name of Object.values(expertTensorNames(layer, e))) params[name] = PARAMS[name]!;
  };

  for (const routing of [{ mode: 'dynamic' }, { mode: 'static-prompt', expertsPerLayer: 3 }, { mode: 'static', allowed: [[0, 1, 2], null, [4, 5, 6, 7]] }] as Routing[]) {
    it(`names each layer's experts with none of them loaded and ends bit for bit as prefill (${routing.mode})`, () => {
      const reference = prefill(PARAMS, CFG, SEQ.slice(0, PROMPT), routing);
      const want = reference.state.allowed.map((set, l) => (set === null ? expertsUsed(reference.state)[l]! : [...set]));
      const params = withoutExperts();
      const run = new LayeredPrefill(params, CFG, SEQ.slice(0, PROMPT), routing);
      for (let l = 0; l < CFG.nLayers; l++) {
        expect(run.next).toBe(l);
        const need = run.need();
        expect(need, `layer ${l}`).toEqual(want[l]);
        expect(() => run.advance(), 'a layer routed to an absent expert').toThrow(MissingExpertError);
        add(params, l, need);
        run.advance();
      }
      const { logits, state } = run.finish();
      expect(logits).toEqual(reference.logits);
      expect(state.routes).toEqual(reference.state.routes);
      expect(state.allowed).toEqual(reference.state.allowed);
      // The state reads the caller's params: experts added after the prefill serve its decode steps.
      for (let l = 0; l < CFG.nLayers; l++) add(params, l, allExperts);
      expect(decodeStep(state, SEQ[PROMPT]!)).toEqual(decodeStep(reference.state, SEQ[PROMPT]!));
    });
  }

  it('refuses to finish before the last layer', () => {
    const run = new LayeredPrefill(PARAMS, CFG, [1, 2]);
    run.advance();
    expect(() => run.finish()).toThrow('the prefill ran 1 of 3 layers');
  });
});

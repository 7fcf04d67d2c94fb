import { initParams } from '@blyan/model';
import { slotPlan, slotParams, encodeSlotPayload } from '@blyan/model/blocks';
import { describe, expect, it } from 'vitest';
import { DeltaError, type ExpertDelta, applyDelta, compression, decodeDelta, deltaNorm, encodeDelta, expertCandidate, sparsifyDelta } from '../src/index.ts';

const CFG = { vocabSize: 64, dModel: 16, nLayers: 1, nHeads: 2, nExperts: 2, topK: 1, dFF: 32, contextLength: 8, ropeTheta: 10000, normEps: 1e-5, auxLossCoef: 0.01 };

type Pair = { a: Float32Array; b: Float32Array };

function pair(seed = 1): { base: Pair; tuned: Pair } {
  const base = { a: new Float32Array(1000), b: new Float32Array(300) };
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  for (const t of Object.values(base)) for (let i = 0; i < t.length; i++) t[i] = rnd();
  const tuned = { a: base.a.map((x) => x + 0.01 * rnd()), b: base.b.map((x, i) => (i % 7 === 0 ? x + 0.05 * rnd() : x)) };
  return { base, tuned };
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof DeltaError) return e.code;
    throw e;
  }
  throw new Error('did not throw');
};

describe('blyan-delta-v1', () => {
  it('round-trips through bytes exactly and keeps the top-k entries', () => {
    const { base, tuned } = pair();
    const d = sparsifyDelta(base, tuned, 0.1);
    expect(d.tensors.map((t) => [t.name, t.indices.length])).toEqual([['a', 100], ['b', 30]]);
    const bytes = encodeDelta(d);
    const back = decodeDelta(bytes);
    expect(back).toEqual(d);
    expect(encodeDelta(back)).toEqual(bytes);
    // every kept entry moved at least as much as every dropped one
    const moved = tuned.a.map((x, i) => Math.abs(x - base.a[i]!));
    const kept = new Set(d.tensors[0]!.indices);
    const minKept = Math.min(...[...kept].map((i) => moved[i]!));
    expect(moved.every((m, i) => kept.has(i) || m <= minKept)).toBe(true);
  });

  it('applies within half a quantization step of the kept entries and leaves the rest', () => {
    const { base, tuned } = pair(3);
    const d = sparsifyDelta(base, tuned, 0.2);
    const out = applyDelta(base, d);
    for (const t of d.tensors) {
      const kept = new Set(t.indices);
      for (let i = 0; i < t.size; i++) {
        const name = t.name as keyof Pair;
        const want = kept.has(i) ? tuned[name][i]! : base[name][i]!;
        expect(Math.abs(out[t.name]![i]! - want)).toBeLessThanOrEqual(t.scale / 2 + 1e-6);
      }
    }
    expect(base.a).not.toBe(out.a);
    expect(deltaNorm(d)).toBeGreaterThan(0);
  });

  it('states its compression against the dense f32 delta', () => {
    const { base, tuned } = pair();
    const d = sparsifyDelta(base, tuned, 0.05);
    const c = compression(d, encodeDelta(d).length);
    expect(c.rawBytes).toBe(4 * 1300);
    expect(c.ratio).toBeGreaterThan(10);
  });

  it('refuses NaN and Inf, in training output or in the bytes', () => {
    const { base, tuned } = pair();
    tuned.a[5] = Number.NaN;
    expect(code(() => sparsifyDelta(base, tuned, 0.1))).toBe('non_finite_delta');
    const good = encodeDelta(sparsifyDelta(base, pair().tuned, 0.1));
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const bytes = good.slice();
      new DataView(bytes.buffer).setFloat32(5 + 1 + 1 + 8, bad, true);
      expect(code(() => decodeDelta(bytes))).toBe('non_finite_delta');
    }
    const huge: ExpertDelta = { tensors: [{ name: 'a', size: 1000, indices: Uint32Array.of(0), values: Int8Array.of(127), scale: 3e38 }] };
    expect(code(() => applyDelta({ a: new Float32Array(1000).fill(3e38) }, huge))).toBe('non_finite_delta');
  });

  it('refuses malformed bytes with a reason', () => {
    const good = encodeDelta(sparsifyDelta(pair().base, pair().tuned, 0.1));
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 3), /truncated/],
      [Uint8Array.of(0x42, 0x4c, 0x44, 0x32, 1), /does not start/],
      [good.subarray(0, good.length - 1), /truncated/],
      [Uint8Array.from([...good, 0]), /bytes follow/],
      [Uint8Array.of(0x42, 0x4c, 0x44, 0x31, 0), /1 to 64 tensors/],
    ];
    for (const [bytes, why] of cases) expect(() => decodeDelta(bytes)).toThrow(why);
    const dup = { tensors: [...decodeDelta(good).tensors, decodeDelta(good).tensors[0]!] };
    expect(() => encodeDelta(dup)).toThrow(/appears twice/);
    const outOfRange: ExpertDelta = { tensors: [{ name: 'a', size: 4, indices: Uint32Array.of(4), values: Int8Array.of(1), scale: 0.5 }] };
    expect(() => encodeDelta(outOfRange)).toThrow(/out of range/);
    const unsorted: ExpertDelta = { tensors: [{ name: 'a', size: 4, indices: Uint32Array.of(2, 1), values: Int8Array.of(1, 1), scale: 0.5 }] };
    expect(() => encodeDelta(unsorted)).toThrow(/strictly increasing/);
    expect(code(() => applyDelta({ b: new Float32Array(4) }, outOfRange))).toBe('delta_mismatch');
  });

  it('builds the same int8 expert payload a fresh encode of base + delta gives', () => {
    const params = initParams(CFG, 7);
    const slot = slotPlan(CFG).find((s) => s.type === 'expert')!;
    const basePayload = encodeSlotPayload(slot, params, 'int8');
    const base = slotParams(slot, basePayload);
    const tuned = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x, i) => (i % 3 === 0 ? x + 0.02 : x))]));
    const d = sparsifyDelta(base, tuned, 0.5);
    const candidate = expertCandidate(slot, basePayload, d, 'int8');
    expect(candidate).toEqual(encodeSlotPayload(slot, applyDelta(base, d), 'int8'));
    expect(candidate).not.toEqual(basePayload);
    const dense = slotPlan(CFG)[0]!;
    expect(code(() => expertCandidate(dense, basePayload, d, 'int8'))).toBe('delta_mismatch');
  });
});

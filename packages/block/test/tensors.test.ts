import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALIGN, type Tensor, TensorFormatError, decodeTensors, encodeTensors } from '../src/tensors.ts';
import { f16BitsToF32, f32ToF16Bits, quantizeInt8, toF32 } from '../src/quant.ts';

const shapeArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 3 });
const tensorArb: fc.Arbitrary<Tensor> = fc.tuple(shapeArb, fc.constantFrom('f32', 'f16', 'i8'), fc.integer()).map(([shape, dtype, seed]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const f = Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 1.7) * 3);
  if (dtype === 'f32') return { dtype, shape, data: f };
  if (dtype === 'f16') return { dtype, shape, data: Uint16Array.from(f, f32ToF16Bits) };
  return quantizeInt8(f, shape);
});

describe('tensors-v1', () => {
  it('round-trips any set of tensors, viewing the payload without copies', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__metadata__' && k !== '__proto__'), tensorArb, { maxKeys: 5 }), (tensors) => {
        const bytes = encodeTensors(tensors, { note: 'x' });
        const { tensors: back, metadata } = decodeTensors(bytes);
        expect(metadata).toEqual({ note: 'x' });
        expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const b = back[name]!;
          expect(b.dtype).toBe(t.dtype);
          expect(b.shape).toEqual(t.shape);
          expect(Array.from(b.data)).toEqual(Array.from(t.data));
          expect(b.data.buffer).toBe(bytes.buffer);
          expect((b.data.byteOffset - (8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))) % ALIGN).toBe(0);
          if (t.dtype === 'i8' && b.dtype === 'i8') expect(Array.from(b.scales)).toEqual(Array.from(t.scales));
        }
      }),
    );
  });

  it('gives the same bytes whatever order the tensors come in', () => {
    const a: Tensor = { dtype: 'f32', shape: [2], data: new Float32Array([1, 2]) };
    const b: Tensor = { dtype: 'f32', shape: [1], data: new Float32Array([3]) };
    expect(encodeTensors({ a, b })).toEqual(encodeTensors({ b, a }));
  });

  it('refuses inconsistent tensors on encode', () => {
    expect(() => encodeTensors({ w: { dtype: 'f32', shape: [3], data: new Float32Array(2) } })).toThrow(/needs 3 elements/);
    expect(() => encodeTensors({ w: { dtype: 'i8', shape: [2, 2], data: new Int8Array(4), scales: new Float32Array(1) } })).toThrow(/2 output channels/);
  });

  it('rejects malformed payloads with a clear error', () => {
    const good = encodeTensors({ w: { dtype: 'f32', shape: [4], data: new Float32Array(4) } });
    const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
    const withJson = (json: string) => {
      const pad = Math.ceil((8 + json.length) / 64) * 64;
      const out = new Uint8Array(pad + 64);
      new DataView(out.buffer).setBigUint64(0, BigInt(pad - 8), true);
      out.fill(0x20, 8, pad);
      out.set(new TextEncoder().encode(json), 8);
      return out;
    };
    expect(() => decodeTensors(good.subarray(0, 4))).toThrow(TensorFormatError);
    expect(() => decodeTensors(good.subarray(0, 8 + headerLen - 1))).toThrow(/does not fit/);
    expect(() => decodeTensors(withJson('{"w":'))).toThrow(/not valid JSON/);
    expect(() => decodeTensors(withJson('{"w":{"dtype":"f64","shape":[1],"offsets":[0,8]}}'))).toThrow(/unknown dtype/);
    expect(() => decodeTensors(withJson('{"w":{"dtype":"f32","shape":[32],"offsets":[0,128]}}'))).toThrow(/out of bounds/);
    expect(() => decodeTensors(withJson('{"w":{"dtype":"f32","shape":[2],"offsets":[0,16]}}'))).toThrow(/16 bytes for 2 f32/);
    expect(() => decodeTensors(withJson('{"w":{"dtype":"f32","shape":[1],"offsets":[4,8]}}'))).toThrow(/misaligned/);
  });
});

describe('quantization', () => {
  it('int8 per-channel error is at most half a step per element', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (rows, cols, seed) => {
        const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 0.37 + i) * (1 + (i % cols)));
        const q = quantizeInt8(w, [rows, cols]);
        const back = toF32(q);
        for (let i = 0; i < w.length; i++) expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(q.scales[Math.floor(i / cols)]! / 2 + 1e-6);
      }),
    );
  });

  it('an all-zero row quantizes to zeros with scale 0', () => {
    const q = quantizeInt8(new Float32Array(6), [2, 3]);
    expect(Array.from(q.scales)).toEqual([0, 0]);
    expect(Array.from(toF32(q))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses non-finite weights', () => {
    expect(() => quantizeInt8(new Float32Array([1, NaN]), [1, 2])).toThrow(/non-finite/);
  });

  it('f16 conversion round-trips every half-precision value', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16BitsToF32(h);
      if (Number.isNaN(x)) expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(x)))).toBe(true);
      else expect(f32ToF16Bits(x)).toBe(h);
    }
  });

  it('f16 rounds to nearest even and saturates to infinity', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0);
    expect(f32ToF16Bits(2 ** -24 * 1.5)).toBe(2);
  });
});

import { DeltaError, type ExpertDelta } from './types.ts';

/** L2 norm of the delta's dequantized values. */
export function deltaNorm(d: ExpertDelta): number {
  let ss = 0;
  for (const t of d.tensors) for (const q of t.values) ss += (q * t.scale) ** 2;
  return Math.sqrt(ss);
}

/** L2 norm over every element of `params`. */
export function paramsNorm(params: Readonly<Record<string, Float32Array>>): number {
  let ss = 0;
  for (const a of Object.values(params)) for (const x of a) ss += x * x;
  return Math.sqrt(ss);
}

/**
 * `params` with the delta added (new arrays for the changed tensors, f32 arithmetic). Every tensor
 * of the delta must exist in `params` with its size; a non-finite result is refused.
 */
export function applyDelta(params: Readonly<Record<string, Float32Array>>, d: ExpertDelta): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = { ...params };
  for (const t of d.tensors) {
    const base = params[t.name];
    if (base === undefined) throw new DeltaError('delta_mismatch', `the delta changes "${t.name}", which this expert does not have`);
    if (base.length !== t.size) throw new DeltaError('delta_mismatch', `tensor "${t.name}" has ${base.length} elements, the delta says ${t.size}`);
    const next = base.slice();
    for (let i = 0; i < t.indices.length; i++) {
      const at = t.indices[i]!;
      next[at] = next[at]! + t.values[i]! * t.scale;
      if (!Number.isFinite(next[at]!)) throw new DeltaError('non_finite_delta', `tensor "${t.name}" element ${at} becomes ${next[at]}`);
    }
    out[t.name] = next;
  }
  return out;
}

/** Bytes of the same change as a dense f32 delta over the tensors it touches, and the ratio to the encoded bytes. */
export function compression(d: ExpertDelta, encodedBytes: number): { rawBytes: number; encodedBytes: number; ratio: number; entries: number } {
  const rawBytes = 4 * d.tensors.reduce((s, t) => s + t.size, 0);
  const entries = d.tensors.reduce((s, t) => s + t.indices.length, 0);
  return { rawBytes, encodedBytes, ratio: rawBytes / encodedBytes, entries };
}

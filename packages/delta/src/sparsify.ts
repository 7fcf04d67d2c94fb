import { DeltaError, type ExpertDelta, type SparseTensorDelta } from './types.ts';

/**
 * The top-k int8 delta from `base` to `tuned` (same names, same sizes): per tensor, the
 * ⌈density · size⌉ elements that moved most (ties to the lower index), quantized symmetrically
 * with scale = max kept |Δ| / 127; entries that round to 0 and tensors that did not move are left
 * out. Non-finite values are refused.
 */
export function sparsifyDelta(base: Readonly<Record<string, Float32Array>>, tuned: Readonly<Record<string, Float32Array>>, density: number): ExpertDelta {
  if (!(density > 0 && density <= 1)) throw new RangeError(`density must be in (0, 1], got ${density}`);
  const tensors: SparseTensorDelta[] = [];
  for (const name of Object.keys(tuned).sort()) {
    const b = base[name];
    const t = tuned[name]!;
    if (b === undefined || b.length !== t.length) throw new DeltaError('delta_mismatch', `tensor "${name}" has no base of ${t.length} elements`);
    const diff = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) {
      diff[i] = t[i]! - b[i]!;
      if (!Number.isFinite(diff[i]!)) throw new DeltaError('non_finite_delta', `tensor "${name}" element ${i} changes by ${diff[i]}`);
    }
    const k = Math.ceil(density * t.length);
    const order = Array.from({ length: t.length }, (_, i) => i).sort((x, y) => Math.abs(diff[y]!) - Math.abs(diff[x]!) || x - y);
    const kept = order.slice(0, k).sort((x, y) => x - y);
    const scale = Math.fround(Math.abs(diff[order[0]!]!) / 127);
    if (scale === 0) continue;
    const indices: number[] = [];
    const values: number[] = [];
    for (const i of kept) {
      const q = Math.round(diff[i]! / scale);
      if (q !== 0) {
        indices.push(i);
        values.push(Math.max(-127, Math.min(127, q)));
      }
    }
    tensors.push({ name, size: t.length, indices: Uint32Array.from(indices), values: Int8Array.from(values), scale });
  }
  return { tensors };
}

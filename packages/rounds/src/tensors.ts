/** A change to some tensors of one slot, dense f32, by tensor name. */
export type Tensors = Readonly<Record<string, Float32Array>>;

/** Sum of products over the tensors both hold (a tensor one lacks counts as zeros). */
export function dot(a: Tensors, b: Tensors): number {
  let s = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name];
    if (y === undefined) continue;
    if (y.length !== x.length) throw new RangeError(`tensor "${name}" has ${x.length} elements in one change and ${y.length} in the other`);
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  }
  return s;
}

/** Cosine similarity of two changes; 0 when either is all zeros. */
export function cosine(a: Tensors, b: Tensors): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
}

/** Σ coefficient_i · terms_i over the union of tensor names (f64 accumulation, f32 result). */
export function combine(terms: readonly Tensors[], coefficients: readonly number[]): Record<string, Float32Array> {
  const acc: Record<string, Float64Array> = {};
  terms.forEach((t, k) => {
    for (const [name, x] of Object.entries(t)) {
      const a = (acc[name] ??= new Float64Array(x.length));
      if (a.length !== x.length) throw new RangeError(`tensor "${name}" has ${x.length} elements in one change and ${a.length} in another`);
      for (let i = 0; i < x.length; i++) a[i]! += coefficients[k]! * x[i]!;
    }
  });
  return Object.fromEntries(Object.entries(acc).map(([name, a]) => [name, Float32Array.from(a)]));
}

/**
 * Every op works on flat row-major arrays of either float32 (what the model ships and runs in) or
 * float64 (what the gradient checks use, so that finite differences are accurate). Whichever one a
 * model's parameters use, its activations and gradients use too.
 */
export type FloatArray = Float32Array | Float64Array;

/** Parameters (or their gradients) by name; see `parameterShapes` for the names and shapes. */
export type ParamMap<A extends FloatArray = Float32Array> = Record<string, A>;

/** A zeroed array of `n` elements with the same element type as `like`. */
export function zerosLike<A extends FloatArray>(like: A, n: number): A {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as A;
}

/** A view of elements [from, to) of `a`, typed like `a`. */
export function view<A extends FloatArray>(a: A, from: number, to: number): A {
  return a.subarray(from, to) as A;
}

import { DATA_TYPE, type ElemType, GraphBuilder, type Value } from './graph-builder.ts';

/**
 * GraphBuilder plus one short method per ONNX operator the model uses, so that graph code reads
 * like array code: `g.mul(g.sigmoid(h), h)`. Axes and shapes given as numbers become (shared)
 * int64 constants; float scalars likewise.
 */
export class Graph extends GraphBuilder {
  private readonly constants = new Map<string, Value>();

  private cached(key: string, make: () => Value): Value {
    let value = this.constants.get(key);
    if (value === undefined) {
      value = make();
      this.constants.set(key, value);
    }
    return value;
  }

  /** A float32 scalar constant (rank 0). */
  scalar(x: number): Value {
    return this.cached(`f:${x}`, () => this.initializer('float32', [x], []));
  }

  /** An int64 scalar constant (rank 0). */
  int(x: number): Value {
    return this.cached(`i0:${x}`, () => this.initializer('int64', [x], []));
  }

  /** A 1-D int64 constant. */
  ints(values: readonly number[]): Value {
    return this.cached(`i:${values.join(',')}`, () => this.initializer('int64', values, [values.length]));
  }

  add = (a: Value, b: Value): Value => this.node1('Add', [a, b]);
  sub = (a: Value, b: Value): Value => this.node1('Sub', [a, b]);
  mul = (a: Value, b: Value): Value => this.node1('Mul', [a, b]);
  div = (a: Value, b: Value): Value => this.node1('Div', [a, b]);
  neg = (a: Value): Value => this.node1('Neg', [a]);
  sqrt = (a: Value): Value => this.node1('Sqrt', [a]);
  reciprocal = (a: Value): Value => this.node1('Reciprocal', [a]);
  exp = (a: Value): Value => this.node1('Exp', [a]);
  log = (a: Value): Value => this.node1('Log', [a]);
  sigmoid = (a: Value): Value => this.node1('Sigmoid', [a]);
  pow = (a: Value, b: Value): Value => this.node1('Pow', [a, b]);
  greater = (a: Value, b: Value): Value => this.node1('Greater', [a, b]);
  less = (a: Value, b: Value): Value => this.node1('Less', [a, b]);
  equal = (a: Value, b: Value): Value => this.node1('Equal', [a, b]);
  and = (a: Value, b: Value): Value => this.node1('And', [a, b]);
  or = (a: Value, b: Value): Value => this.node1('Or', [a, b]);
  where = (cond: Value, a: Value, b: Value): Value => this.node1('Where', [cond, a, b]);
  cast = (a: Value, to: ElemType): Value => this.node1('Cast', [a], { to: DATA_TYPE[to] });
  sum = (values: readonly Value[]): Value => this.node1('Sum', values);

  matmul = (a: Value, b: Value): Value => this.node1('MatMul', [a, b]);

  /** a · bᵀ for 2-D a [n, in] and b [out, in]: a linear layer with [out, in] weights. */
  linear = (a: Value, w: Value): Value => this.node1('Gemm', [a, w], { transB: 1 });

  /** aᵀ · b for 2-D a [n, out] and b [n, in]: a weight gradient. */
  matmulTN = (a: Value, b: Value): Value => this.node1('Gemm', [a, b], { transA: 1 });

  shape = (a: Value): Value => this.node1('Shape', [a]);
  /** The number of elements, an int64 scalar. */
  size = (a: Value): Value => this.node1('Size', [a]);
  reshape = (a: Value, shape: Value | readonly number[]): Value => this.node1('Reshape', [a, Array.isArray(shape) ? this.ints(shape) : (shape as Value)]);
  transpose = (a: Value, perm: readonly number[]): Value => this.node1('Transpose', [a], { perm });
  /** a broadcast to the (runtime) shape. */
  expand = (a: Value, shape: Value): Value => this.node1('Expand', [a, shape]);
  unsqueeze = (a: Value, axes: readonly number[]): Value => this.node1('Unsqueeze', [a, this.ints(axes)]);
  concat = (values: readonly Value[], axis: number): Value => this.node1('Concat', values, { axis });
  split = (a: Value, axis: number, count: number): Value[] => this.nodeN('Split', [a], count, { axis });
  slice = (a: Value, starts: Value, ends: Value, axes: readonly number[]): Value => this.node1('Slice', [a, starts, ends, this.ints(axes)]);

  reduceSum = (a: Value, axes: readonly number[], keepdims: boolean): Value => this.node1('ReduceSum', [a, this.ints(axes)], { keepdims: Number(keepdims) });
  reduceMax = (a: Value, axes: readonly number[], keepdims: boolean): Value => this.node1('ReduceMax', [a], { axes, keepdims: Number(keepdims) });
  reduceMean = (a: Value, axes: readonly number[], keepdims: boolean): Value => this.node1('ReduceMean', [a], { axes, keepdims: Number(keepdims) });
  /** Σ a² over every element: a scalar. */
  sumSquares = (a: Value): Value => this.node1('ReduceSumSquare', [a], { keepdims: 0 });

  softmax = (a: Value, axis: number): Value => this.node1('Softmax', [a], { axis });
  logSoftmax = (a: Value, axis: number): Value => this.node1('LogSoftmax', [a], { axis });

  gather = (a: Value, indices: Value, axis: number): Value => this.node1('Gather', [a, indices], { axis });
  gatherElements = (a: Value, indices: Value, axis: number): Value => this.node1('GatherElements', [a, indices], { axis });
  /** data with updates[i] added at data[indices[i]] (repeated indices accumulate). */
  scatterAdd = (data: Value, indices: Value, updates: Value): Value => this.node1('ScatterND', [data, indices, updates], { reduction: 'add' });
  /** data with updates added elementwise at the positions `indices` name along `axis` (ScatterElements). */
  scatterElementsAdd = (data: Value, indices: Value, updates: Value, axis: number): Value => this.node1('ScatterElements', [data, indices, updates], { axis, reduction: 'add' });

  /** One-hot float rows over the last axis: [..., depth]. */
  oneHot = (indices: Value, depth: number): Value => {
    const offOn = this.cached('onehot', () => this.initializer('float32', [0, 1], [2]));
    return this.node1('OneHot', [indices, this.ints([depth]), offOn]);
  };

  /** The k largest entries along the last axis, largest first, ties to the lower index: [values, indices]. */
  topK = (a: Value, k: number): [Value, Value] => {
    const [values, indices] = this.nodeN('TopK', [a, this.ints([k])], 2, { axis: -1, largest: 1, sorted: 1 });
    return [values!, indices!];
  };

  /** Indices of the nonzero elements, [rank, count]. */
  nonZero = (a: Value): Value => this.node1('NonZero', [a]);

  range = (start: Value, limit: Value, delta: Value): Value => this.node1('Range', [start, limit, delta]);

  /** A tensor of the given (runtime) shape filled with a float. */
  filled = (shape: Value, x: number): Value => this.node1('ConstantOfShape', [shape], { value: { tensor: { type: 'float32', values: [x] } } });
}

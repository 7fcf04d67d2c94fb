import { type onnx, proto } from './proto.ts';

/** The ONNX operator set the graphs are written against (ONNX Runtime 1.30 and onnxruntime-web run it). */
export const OPSET = 17;
const IR_VERSION = 8;

/** A tensor flowing through the graph: a graph input, an initializer or a node output. */
export interface Value {
  readonly name: string;
}

export type ElemType = 'float32' | 'int64' | 'bool';

/** A dimension of a graph input or output: a fixed size, or a symbolic name such as 'batch'. */
export type Dim = number | string;

/** A float-valued attribute; a bare number is an integer attribute. */
export interface FloatAttr {
  readonly float: number;
}

/** A tensor-valued attribute (e.g. ConstantOfShape's value). */
export interface TensorAttr {
  readonly tensor: { readonly type: ElemType; readonly values: readonly number[] };
}

export type AttrValue = number | readonly number[] | string | FloatAttr | TensorAttr;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** TensorProto.DataType codes (also what Cast's `to` attribute takes). */
export const DATA_TYPE: Readonly<Record<ElemType, number>> = {
  float32: proto.TensorProto.DataType.FLOAT,
  int64: proto.TensorProto.DataType.INT64,
  bool: proto.TensorProto.DataType.BOOL,
};

function valueInfo(name: string, type: ElemType, dims: readonly Dim[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: DATA_TYPE[type], shape: { dim } } } };
}

function tensorProto(name: string, type: ElemType, values: ArrayLike<number>, dims: readonly number[]): onnx.ITensorProto {
  const data = type === 'float32' ? Float32Array.from(values) : type === 'int64' ? BigInt64Array.from(Array.from(values, BigInt)) : Uint8Array.from(values);
  return { name, dataType: DATA_TYPE[type], dims: [...dims], rawData: new Uint8Array(data.buffer) };
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = proto.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`attribute ${name} = ${value}: integer attributes must be integers (wrap floats in { float })`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('tensor' in value) {
    const { type, values } = value.tensor;
    return { name, type: T.TENSOR, t: tensorProto('', type, values, [values.length]) };
  }
  return { name, type: T.INTS, ints: [...value] };
}

/** A value's name can change until serialization (see `output`), so nodes refer to the objects. */
class NamedValue implements Value {
  constructor(public name: string) {}
}

interface PendingNode {
  readonly opType: string;
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  readonly attribute: onnx.IAttributeProto[];
}

/**
 * Accumulates the nodes, inputs, outputs and initializers of one ONNX graph and serializes it as a
 * ModelProto. Node outputs get fresh names (`OpType_N`) until published as graph outputs; graph
 * inputs and outputs keep the names given. Free of Node.js imports, so a browser can build graphs.
 */
export class GraphBuilder {
  private readonly nodes: PendingNode[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  /** Node outputs not yet published: `output` may rename them. */
  private readonly renamable = new Set<Value>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  private claim(name: string): NamedValue {
    if (this.names.has(name)) throw new Error(`graph ${this.graphName}: duplicate value name "${name}"`);
    this.names.add(name);
    return new NamedValue(name);
  }

  private fresh(prefix: string): NamedValue {
    return this.claim(`${prefix}_${this.counter++}`);
  }

  /** A graph input fed at run time. */
  input(name: string, type: ElemType, dims: readonly Dim[]): Value {
    this.inputs.push(valueInfo(name, type, dims));
    return this.claim(name);
  }

  /** A constant tensor stored in the model. */
  initializer(type: ElemType, values: ArrayLike<number>, dims: readonly number[]): Value {
    const value = this.fresh('const');
    this.initializers.push(tensorProto(value.name, type, values, dims));
    return value;
  }

  /**
   * Publishes `value` as the graph output `name`: a node output is renamed (no copy), anything
   * else (an input, an initializer, a value already published) goes through an Identity node.
   */
  output(value: Value, name: string, type: ElemType, dims: readonly Dim[]): void {
    if (value instanceof NamedValue && this.renamable.delete(value)) {
      this.names.delete(value.name);
      this.claim(name);
      value.name = name;
    } else {
      this.node('Identity', [value], [this.claim(name)]);
    }
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** Adds a node with `count` outputs; an undefined input is an omitted optional input. */
  nodeN(opType: string, inputs: readonly (Value | undefined)[], count: number, attrs: Attrs = {}): Value[] {
    const outputs = Array.from({ length: count }, () => this.fresh(opType));
    for (const v of outputs) this.renamable.add(v);
    this.node(opType, inputs, outputs, attrs);
    return outputs;
  }

  /** Adds a node with one output. */
  node1(opType: string, inputs: readonly (Value | undefined)[], attrs: Attrs = {}): Value {
    const [out] = this.nodeN(opType, inputs, 1, attrs);
    return out!;
  }

  private node(opType: string, inputs: readonly (Value | undefined)[], outputs: readonly Value[], attrs: Attrs = {}): void {
    this.nodes.push({ opType, inputs, outputs, attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)) });
  }

  /** The serialized ModelProto. */
  toBytes(): Uint8Array {
    const node = this.nodes.map((n) => ({
      opType: n.opType,
      input: n.inputs.map((v) => v?.name ?? ''),
      output: n.outputs.map((v) => v.name),
      attribute: n.attribute,
    }));
    const graph = { name: this.graphName, node, input: this.inputs, output: this.outputs, initializer: this.initializers };
    const model = proto.ModelProto.create({ irVersion: IR_VERSION, producerName: 'blyan', opsetImport: [{ domain: '', version: OPSET }], graph });
    return proto.ModelProto.encode(model).finish();
  }
}

/**
 * `tensors-v1` payload: safetensors-style and zero-copy.
 *
 *   [u64 LE n][n bytes of JSON, space-padded][tensor data]
 *
 * The JSON maps each tensor name to `{ dtype, shape, offsets: [begin, end] }` (byte offsets into
 * the data section); an `i8` tensor also has `scales: [begin, end]`, one f32 scale per output
 * channel (the first dimension), so that w[r][c] = i8[r][c] * scales[r]. The optional
 * `__metadata__` entry holds string → string pairs. The header is padded so that the data section,
 * and every range inside it, starts on a 64-byte boundary: typed-array views need element
 * alignment and GPUs like 64. Data is little-endian. Names are written in sorted order, so the
 * same tensors always give the same bytes.
 */
export type DType = 'f32' | 'f16' | 'i8';

export type Tensor =
  | { dtype: 'f32'; shape: number[]; data: Float32Array }
  /** IEEE binary16 bit patterns (Float16Array is not in every engine yet). */
  | { dtype: 'f16'; shape: number[]; data: Uint16Array }
  | { dtype: 'i8'; shape: number[]; data: Int8Array; scales: Float32Array };

export type TensorMap = Record<string, Tensor>;

export const ALIGN = 64;
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const BYTES: Record<DType, number> = { f32: 4, f16: 2, i8: 1 };

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('tensors-v1 needs a little-endian platform');
}

export class TensorFormatError extends Error {
  override name = 'TensorFormatError';
}

function fail(msg: string): never {
  throw new TensorFormatError(msg);
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkTensor(name: string, t: Tensor): void {
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${name}: bad shape [${t.shape.join(',')}]`);
  const n = elementCount(t.shape);
  if (t.data.length !== n) fail(`${name}: shape [${t.shape.join(',')}] needs ${n} elements, data has ${t.data.length}`);
  if (t.dtype === 'i8') {
    if (t.shape.length < 1) fail(`${name}: an i8 tensor needs an output-channel dimension`);
    if (t.scales.length !== t.shape[0]) fail(`${name}: ${t.shape[0]} output channels but ${t.scales.length} scales`);
  }
}

interface Entry {
  dtype: DType;
  shape: number[];
  offsets: [number, number];
  scales?: [number, number];
}

export function encodeTensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const entries: Record<string, Entry | Record<string, string>> = {};
  if (Object.keys(metadata).length > 0) entries.__metadata__ = metadata;
  const chunks: { at: number; bytes: Uint8Array }[] = [];
  let end = 0;
  const place = (bytes: Uint8Array): [number, number] => {
    const at = alignUp(end);
    end = at + bytes.length;
    chunks.push({ at, bytes });
    return [at, end];
  };
  for (const name of names) {
    if (name === '__metadata__') fail('__metadata__ is reserved');
    const t = tensors[name]!;
    checkTensor(name, t);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const entry: Entry = { dtype: t.dtype, shape: t.shape, offsets: place(bytes) };
    if (t.dtype === 'i8') entry.scales = place(new Uint8Array(t.scales.buffer, t.scales.byteOffset, t.scales.byteLength));
    entries[name] = entry;
  }
  const json = new TextEncoder().encode(JSON.stringify(entries));
  const dataStart = alignUp(8 + json.length);
  const out = new Uint8Array(dataStart + end);
  new DataView(out.buffer).setBigUint64(0, BigInt(dataStart - 8), true);
  out.fill(0x20, 8, dataStart);
  out.set(json, 8);
  for (const c of chunks) out.set(c.bytes, dataStart + c.at);
  return out;
}

function isRange(x: unknown, size: number): x is [number, number] {
  return (
    Array.isArray(x) && x.length === 2 && Number.isSafeInteger(x[0]) && Number.isSafeInteger(x[1]) &&
    x[0] >= 0 && x[0] <= x[1] && x[1] <= size && x[0] % ALIGN === 0
  );
}

/**
 * Views every tensor in place (no copy) when `payload` starts 8-byte aligned in its buffer, as a
 * fetched ArrayBuffer does; a misaligned payload is copied once. Throws TensorFormatError on any
 * inconsistency: nothing is trusted.
 */
export function decodeTensors(payload: Uint8Array): { tensors: TensorMap; metadata: Record<string, string> } {
  const bytes = payload.byteOffset % 8 === 0 ? payload : payload.slice();
  if (bytes.length < 8) fail(`payload of ${bytes.length} bytes is too short for a tensors-v1 header`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_JSON_BYTES || 8 + n > bytes.length) fail(`header length ${n} does not fit a ${bytes.length}-byte payload`);
  if ((8 + n) % ALIGN !== 0) fail('data section is not 64-byte aligned');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`tensor header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('tensor header must be an object');
  const data = bytes.subarray(8 + n);
  const base = data.byteOffset;
  const tensors: TensorMap = {};
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || !Object.values(raw).every((v) => typeof v === 'string')) {
        fail('__metadata__ must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as Partial<Entry> | null;
    if (typeof e !== 'object' || e === null) fail(`${name}: entry must be an object`);
    const dtype = e.dtype;
    if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'i8') fail(`${name}: unknown dtype ${String(dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${name}: bad shape`);
    if (!isRange(e.offsets, data.length)) fail(`${name}: offsets out of bounds or misaligned`);
    const count = elementCount(shape);
    const [b, end] = e.offsets;
    if (end - b !== count * BYTES[dtype]) fail(`${name}: ${end - b} bytes for ${count} ${dtype} elements`);
    const at = base + b;
    if (dtype === 'f32') tensors[name] = { dtype, shape, data: new Float32Array(bytes.buffer, at, count) };
    else if (dtype === 'f16') tensors[name] = { dtype, shape, data: new Uint16Array(bytes.buffer, at, count) };
    else {
      if (shape.length < 1) fail(`${name}: an i8 tensor needs an output-channel dimension`);
      if (!isRange(e.scales, data.length)) fail(`${name}: scales out of bounds or misaligned`);
      const [sb, se] = e.scales;
      if (se - sb !== shape[0]! * 4) fail(`${name}: scales hold ${(se - sb) / 4} floats for ${shape[0]} channels`);
      tensors[name] = {
        dtype,
        shape,
        data: new Int8Array(bytes.buffer, at, count),
        scales: new Float32Array(bytes.buffer, base + sb, shape[0]!),
      };
    }
  }
  return { tensors, metadata };
}

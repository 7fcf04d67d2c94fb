import { DeltaError, type ExpertDelta, type SparseTensorDelta } from './types.ts';

/**
 * blyan-delta-v1: `"BLD1"`, u8 tensor count, then per tensor: u8 name length, ASCII name,
 * u32 LE size, u32 LE k, f32 LE scale, k LEB128 index gaps (index₀ = g₀, indexᵢ = indexᵢ₋₁ + 1 + gᵢ),
 * k int8 values. Nothing may follow the last tensor.
 */
const MAGIC = [0x42, 0x4c, 0x44, 0x31];
const MAX_TENSORS = 64;
const NAME_RE = /^[A-Za-z0-9_.]{1,128}$/;

const malformed = (message: string) => new DeltaError('malformed_delta', message);

function checkTensor(t: SparseTensorDelta): void {
  const where = `tensor "${t.name}"`;
  if (!NAME_RE.test(t.name)) throw malformed(`tensor name ${JSON.stringify(t.name)} must match [A-Za-z0-9_.]{1,128}`);
  if (!Number.isInteger(t.size) || t.size < 1 || t.size > 0xffffffff) throw malformed(`${where}: size must be an integer in [1, 2^32)`);
  const k = t.indices.length;
  if (k < 1 || k > t.size) throw malformed(`${where}: ${k} entries, expected 1 to ${t.size}`);
  if (t.values.length !== k) throw malformed(`${where}: ${k} indices but ${t.values.length} values`);
  if (!Number.isFinite(t.scale)) throw new DeltaError('non_finite_delta', `${where}: scale is ${t.scale}`);
  if (!(t.scale > 0) || Math.fround(t.scale) !== t.scale) throw malformed(`${where}: scale must be a positive f32, got ${t.scale}`);
  for (let i = 0; i < k; i++) {
    if (t.indices[i]! >= t.size) throw malformed(`${where}: index ${t.indices[i]} is out of range [0, ${t.size})`);
    if (i > 0 && t.indices[i]! <= t.indices[i - 1]!) throw malformed(`${where}: indices must be strictly increasing`);
    if (t.values[i] === -128) throw malformed(`${where}: values must lie in [-127, 127]`);
  }
}

function checkDelta(d: ExpertDelta): void {
  if (d.tensors.length < 1 || d.tensors.length > MAX_TENSORS) throw malformed(`a delta holds 1 to ${MAX_TENSORS} tensors, got ${d.tensors.length}`);
  const names = new Set<string>();
  for (const t of d.tensors) {
    checkTensor(t);
    if (names.has(t.name)) throw malformed(`tensor "${t.name}" appears twice`);
    names.add(t.name);
  }
}

function varintLength(x: number): number {
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

/** The blyan-delta-v1 bytes of a delta; throws DeltaError if the delta breaks an invariant of its type. */
export function encodeDelta(d: ExpertDelta): Uint8Array {
  checkDelta(d);
  const gap = (t: SparseTensorDelta, i: number) => (i === 0 ? t.indices[0]! : t.indices[i]! - t.indices[i - 1]! - 1);
  let size = 5;
  for (const t of d.tensors) {
    size += 1 + t.name.length + 12 + t.values.length;
    for (let i = 0; i < t.indices.length; i++) size += varintLength(gap(t, i));
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = d.tensors.length;
  let at = 5;
  for (const t of d.tensors) {
    out[at++] = t.name.length;
    for (let i = 0; i < t.name.length; i++) out[at++] = t.name.charCodeAt(i);
    view.setUint32(at, t.size, true);
    view.setUint32(at + 4, t.indices.length, true);
    view.setFloat32(at + 8, t.scale, true);
    at += 12;
    for (let i = 0; i < t.indices.length; i++) {
      let g = gap(t, i);
      while (g >= 0x80) {
        out[at++] = (g & 0x7f) | 0x80;
        g = Math.floor(g / 128);
      }
      out[at++] = g;
    }
    out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.length), at);
    at += t.values.length;
  }
  return out;
}

/** Reads blyan-delta-v1 bytes, refusing anything truncated, trailing, out of range or non-finite. */
export function decodeDelta(bytes: Uint8Array): ExpertDelta {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > bytes.length) throw malformed(`delta is truncated in ${what} at byte ${at}`);
  };
  need(5, 'the preamble');
  if (MAGIC.some((m, i) => bytes[i] !== m)) throw malformed('delta does not start with "BLD1"');
  const count = bytes[4]!;
  at = 5;
  const tensors: SparseTensorDelta[] = [];
  for (let n = 0; n < count; n++) {
    need(1, `tensor ${n}'s name length`);
    const len = bytes[at++]!;
    need(len + 12, `tensor ${n}'s header`);
    const name = String.fromCharCode(...bytes.subarray(at, at + len));
    at += len;
    const size = view.getUint32(at, true);
    const k = view.getUint32(at + 4, true);
    const scale = view.getFloat32(at + 8, true);
    at += 12;
    if (k > size || k > bytes.length - at) throw malformed(`tensor "${name}": ${k} entries cannot fit a ${size}-element tensor in the bytes left`);
    const indices = new Uint32Array(k);
    let next = 0;
    for (let i = 0; i < k; i++) {
      let g = 0;
      for (let shift = 0; ; shift += 7) {
        need(1, `tensor "${name}"'s indices`);
        const b = bytes[at++]!;
        if (shift === 28 && b > 0x0f) throw malformed(`tensor "${name}": index gap overflows 32 bits`);
        g += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
      }
      const index = next + g;
      if (index >= size) throw malformed(`tensor "${name}": index ${index} is out of range [0, ${size})`);
      indices[i] = index;
      next = index + 1;
    }
    need(k, `tensor "${name}"'s values`);
    const values = Int8Array.from(new Int8Array(bytes.buffer, bytes.byteOffset + at, k));
    at += k;
    tensors.push({ name, size, indices, values, scale });
  }
  if (at !== bytes.length) throw malformed(`${bytes.length - at} bytes follow the last tensor`);
  const delta = { tensors };
  checkDelta(delta);
  return delta;
}

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Tensors by name, as saved between rounds. */
export type TensorSet = Record<string, Float32Array>;

/**
 * A JSON value and named tensor sets in one file: u32 LE header length, the header JSON
 * ({ json, sets: { set: { tensor: [offset, length] } } }), then the f32 data. Written to a
 * temporary file and renamed, so a run killed mid-write resumes from the previous round.
 */
export function saveState(path: string, json: unknown, sets: Record<string, TensorSet>): void {
  const index: Record<string, Record<string, [number, number]>> = {};
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [set, tensors] of Object.entries(sets)) {
    index[set] = {};
    for (const [name, t] of Object.entries(tensors)) {
      index[set][name] = [offset, t.length];
      parts.push(t);
      offset += t.length;
    }
  }
  const header = Buffer.from(JSON.stringify({ json, sets: index }));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(header.length);
  const pad = Buffer.alloc((4 - ((4 + header.length) % 4)) % 4);
  writeFileSync(`${path}.tmp`, Buffer.concat([head, header, pad, ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))]));
  renameSync(`${path}.tmp`, path);
}

export function loadState<J>(path: string): { json: J; sets: Record<string, TensorSet> } | null {
  if (!existsSync(path)) return null;
  const bytes = readFileSync(path);
  const n = bytes.readUInt32LE(0);
  const { json, sets } = JSON.parse(bytes.subarray(4, 4 + n).toString('utf8')) as { json: J; sets: Record<string, Record<string, [number, number]>> };
  const start = 4 + n + ((4 - ((4 + n) % 4)) % 4);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return {
    json,
    sets: Object.fromEntries(Object.entries(sets).map(([set, ts]) => [set, Object.fromEntries(Object.entries(ts).map(([name, [o, l]]) => [name, data.slice(o, o + l)]))])),
  };
}

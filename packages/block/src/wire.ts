import { type BlockHeader, MAX_HEADER_BYTES, HeaderError, parseHeader } from './header.ts';
import type { Block } from './block.ts';

/**
 * A block on the wire (POST /v1/blocks): [u32 LE n][n bytes of header JSON][payload]. The header
 * JSON is plain JSON.stringify output; its canonical form is only needed for hashing.
 */
export function encodeBlock(b: Block): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(b.header));
  const out = new Uint8Array(4 + json.length + b.payload.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(b.payload, 4 + json.length);
  return out;
}

/** Parses and shape-checks a wire block; throws HeaderError with a clear message if malformed. */
export function decodeBlock(bytes: Uint8Array): Block {
  if (bytes.length < 4) throw new HeaderError('block body is shorter than its 4-byte header length');
  const n = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (n > MAX_HEADER_BYTES) throw new HeaderError(`header of ${n} bytes exceeds ${MAX_HEADER_BYTES}`);
  if (4 + n > bytes.length) throw new HeaderError(`header length ${n} runs past the ${bytes.length}-byte body`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + n)));
  } catch (e) {
    throw new HeaderError(`header is not valid JSON: ${(e as Error).message}`);
  }
  const header: BlockHeader = parseHeader(json);
  return { header, payload: bytes.subarray(4 + n) };
}

/**
 * UTF-8 helpers. `ignoreBOM` keeps a leading U+FEFF as text: decoding must never drop bytes.
 */
export const utf8Encoder = new TextEncoder();

export function newUtf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { ignoreBOM: true });
}

const decoder = newUtf8Decoder();

export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

function inRange(bytes: Uint8Array, i: number, lo: number, hi: number): boolean {
  const b = bytes[i];
  return b !== undefined && b >= lo && b <= hi;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i` (Unicode Table 3-7), or 0 when the
 * byte there does not start one: overlong forms, surrogates and code points past U+10FFFF are
 * ill-formed.
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return inRange(bytes, i + 1, 0x80, 0xbf) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return inRange(bytes, i + 1, lo, hi) && inRange(bytes, i + 2, 0x80, 0xbf) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return inRange(bytes, i + 1, lo, hi) && inRange(bytes, i + 2, 0x80, 0xbf) && inRange(bytes, i + 3, 0x80, 0xbf)
      ? 4
      : 0;
  }
  return 0;
}

/** A maximal run of well-formed UTF-8, decoded, or one byte that starts no well-formed sequence. */
export type Utf8Segment = { text: string } | { byte: number };

export function* utf8Segments(bytes: Uint8Array): Generator<Utf8Segment> {
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > start) yield { text: utf8Decode(bytes.subarray(start, i)) };
    yield { byte: bytes[i]! };
    i += 1;
    start = i;
  }
  if (i > start) yield { text: utf8Decode(bytes.subarray(start, i)) };
}

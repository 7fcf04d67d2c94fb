/** The outcome of a `Range` request header against a resource of `size` bytes. */
export type RangeRequest = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SINGLE = /^bytes=(\d*)-(\d*)$/;

/**
 * RFC 9110 §14: one byte range (`a-b`, `a-`, `-n`), end exclusive in the result. A missing,
 * malformed or multi-range header gets the full resource, which the RFC allows a server to send.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  const m = header === undefined ? null : SINGLE.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: m[2] === '' ? size : Math.min(Number(m[2]), size - 1) + 1 };
}

import { ApiError } from './api-error.ts';

/** Body cap of JSON routes that carry a signed message (login, usage): a SIWE message and a signature or two. */
export const SMALL_JSON_BYTES = 16 * 1024;

const tooLarge = (limit: number) => new ApiError(413, 'body_too_large', `request body exceeds ${limit} bytes`);

/**
 * Reads a request body of at most `limit` bytes. A larger Content-Length is refused before
 * reading; a stream that runs past the limit is cancelled at the first chunk over it, so no more
 * than `limit` bytes are ever buffered. A body shorter than its Content-Length is refused.
 */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  let expected: number | undefined;
  if (declared !== null) {
    if (!/^\d+$/.test(declared)) throw new ApiError(400, 'bad_content_length', `Content-Length ${declared} is not a byte count`);
    expected = Number(declared);
    if (expected > limit) throw tooLarge(limit);
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit || (expected !== undefined && total > expected)) {
        await reader.cancel();
        throw total > limit ? tooLarge(limit) : new ApiError(400, 'bad_content_length', `body runs past its Content-Length ${expected}`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(400, 'truncated_body', `request body broke off after ${total} bytes: ${(e as Error).message}`);
  }
  if (expected !== undefined && total !== expected) {
    throw new ApiError(400, 'truncated_body', `request body has ${total} bytes, Content-Length says ${expected}`);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A JSON body of at most `limit` bytes (refused as readBody refuses), or `malformed` thrown when it does not parse. */
export async function readJson(req: Request, limit: number, malformed: ApiError): Promise<unknown> {
  const bytes = await readBody(req, limit);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    throw malformed;
  }
}

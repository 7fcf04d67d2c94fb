/**
 * The separator between documents of an uploaded text file: a line holding exactly the model's
 * end-of-text token. It is plain ASCII, so a file is cut at the byte level before any decoding and
 * one document's bad bytes cannot spoil its neighbours.
 */
export const DOC_SEPARATOR = '<|endoftext|>';

const SEP = new TextEncoder().encode(`\n${DOC_SEPARATOR}\n`);

function indexOf(bytes: Uint8Array, from: number): number {
  outer: for (let i = from; i + SEP.length <= bytes.length; i++) {
    for (let j = 0; j < SEP.length; j++) if (bytes[i + j] !== SEP[j]) continue outer;
    return i;
  }
  return -1;
}

/** The raw bytes of each document of an upload, in order (empty pieces kept: the prefilter refuses them with a reason). */
export function splitDocuments(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = indexOf(bytes, 0); i >= 0; i = indexOf(bytes, at)) {
    out.push(bytes.subarray(at, i));
    at = i + SEP.length;
  }
  out.push(bytes.subarray(at));
  return out;
}

/** Documents as one upload file: the inverse of splitDocuments for documents without the separator line. */
export function joinDocuments(texts: readonly string[]): string {
  return texts.join(`\n${DOC_SEPARATOR}\n`);
}

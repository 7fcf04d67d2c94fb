import { createHmac } from 'node:crypto';
import type { Doc } from '@blyan/model/data';

/** A paragraph of a hidden document: the unit the evaluation pool keeps or leaves out. */
export interface Passage {
  /** `<document id>#<paragraph number>`, numbered from 0. */
  readonly id: string;
  readonly text: string;
}

/** The documents cut at blank lines into their non-empty paragraphs, in order. */
export function hiddenPassages(docs: readonly Doc[]): Passage[] {
  return docs.flatMap((d) =>
    d.text
      .split(/\n[ \t]*\n/)
      .map((t) => t.trim())
      .filter((t) => t.length > 0)
      .map((text, n) => ({ id: `${d.id}#${n}`, text })),
  );
}

/**
 * The operator-private evaluation pool: the passages whose HMAC-SHA256(secret, id), its first 4
 * bytes read as a fraction of 2³², falls below `fraction`. Without the secret nobody can tell
 * which passages are scored, though the split they come from may be public.
 */
export function evalPool(secret: Uint8Array, passages: readonly Passage[], fraction: number): Passage[] {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`the pool fraction must be in (0, 1], got ${fraction}`);
  return passages.filter((p) => createHmac('sha256', secret).update(p.id, 'utf8').digest().readUInt32BE(0) < fraction * 2 ** 32);
}

import { type Hash, isHash } from '@blyan/block';
import { deflateSync, inflateSync } from 'fflate';
import { docHash } from './hash.ts';
import { TIERS, type Tier } from './tiers.ts';

/** The `meta.encoding` of a dataset block whose payload is DatasetPayload. */
export const DATASET_ENCODING = 'dataset-v1';

/** One public document of a dataset block, with the tier L1 filed it under. */
export interface DatasetDoc {
  readonly sha256: Hash;
  readonly tier: Tier;
  /** The current model's bits per byte on it when it was filed. */
  readonly bpb: number;
  /** Largest estimated Jaccard similarity to a document chain D held before it. */
  readonly overlap: number;
  readonly text: string;
}

/**
 * A dataset-v1 payload: raw DEFLATE (RFC 1951, fflate, the same code in the page and in Node) of the
 * UTF-8 JSON `{ "v": 1, "docs": [DatasetDoc, …] }`. Every text hashes to its `sha256`, so each
 * document is addressed by its content; the held-out part is never in a payload.
 */
export interface DatasetPayload {
  readonly v: 1;
  readonly docs: readonly DatasetDoc[];
}

export class DatasetPayloadError extends Error {
  override name = 'DatasetPayloadError';
}

const fail = (m: string): never => {
  throw new DatasetPayloadError(`dataset-v1 payload: ${m}`);
};

export function encodeDatasetPayload(p: DatasetPayload): Uint8Array {
  return deflateSync(new TextEncoder().encode(JSON.stringify({ v: p.v, docs: p.docs.map((d) => ({ sha256: d.sha256, tier: d.tier, bpb: d.bpb, overlap: d.overlap, text: d.text })) })), { level: 9 });
}

/** The raw JSON bytes a payload inflates to (what compression is measured against). */
export function inflatedSize(payload: Uint8Array): number {
  return inflateSync(payload).length;
}

function parseDoc(x: unknown, i: number): DatasetDoc {
  if (typeof x !== 'object' || x === null) return fail(`docs[${i}] is not an object`);
  const d = x as Record<string, unknown>;
  if (!isHash(d.sha256)) fail(`docs[${i}].sha256 is not a hash`);
  if (typeof d.text !== 'string') fail(`docs[${i}].text is not a string`);
  if (!(TIERS as readonly unknown[]).includes(d.tier)) fail(`docs[${i}].tier must be one of ${TIERS.join(', ')}`);
  for (const k of ['bpb', 'overlap'] as const) if (typeof d[k] !== 'number' || !Number.isFinite(d[k]) || d[k] < 0) fail(`docs[${i}].${k} must be a finite non-negative number`);
  if (docHash(d.text as string) !== d.sha256) fail(`docs[${i}] hashes to ${docHash(d.text as string)}, not ${String(d.sha256)}`);
  return d as unknown as DatasetDoc;
}

/** Inflates and checks a payload: every field typed, every document at its own address, no address twice. */
export function decodeDatasetPayload(bytes: Uint8Array): DatasetPayload {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(inflateSync(bytes)));
  } catch (e) {
    return fail(`not raw-DEFLATE UTF-8 JSON (${(e as Error).message})`);
  }
  const x = json as Record<string, unknown> | null;
  if (typeof x !== 'object' || x === null || x.v !== 1 || !Array.isArray(x.docs)) return fail('must be { "v": 1, "docs": [...] }');
  const docs = x.docs.map(parseDoc);
  if (new Set(docs.map((d) => d.sha256)).size !== docs.length) fail('a document appears twice');
  return { v: 1, docs };
}

import { type Address, type Hash, type Signer, blockHash, buildBlock, encodeBlock } from '@blyan/block';
import { type ExpertDelta, compression, deltaNorm, encodeDelta, expertCandidate, paramsNorm, sparsifyDelta } from '@blyan/delta';
import type { ExpertEncoding, SlotPlan } from '@blyan/model/blocks';
import { slotParams } from '@blyan/model/blocks';
import type { LoadedBlock } from './frozen-model.ts';

export interface CandidateOptions {
  meta: Hash;
  slot: SlotPlan;
  /** The assigned train shard, named in the block's header (the relay accepts only its assignment). */
  shard: number;
  encoding: ExpertEncoding;
  /** Fraction of each tensor's entries kept (top-k by |Δ|). */
  density: number;
  /** The relay's bound on ‖Δ‖₂ / ‖W_base‖₂; the delta is scaled to 90 % of it when over. */
  maxRelativeNorm: number;
  signer: Signer;
  account: Address;
  now: number;
}

export interface Candidate {
  body: Uint8Array<ArrayBuffer>;
  block: Hash;
  /** Dense f32 bytes of the change, blyan-delta-v1 bytes, their ratio, entries kept. */
  size: { rawBytes: number; encodedBytes: number; ratio: number; entries: number };
  /** Factor the trained change was scaled by to stay under the norm bound (1 = not scaled). */
  scaled: number;
}

/** The int8 top-k sparse delta of a trained change against `base`, scaled under the norm bound: the blyan-delta-v1 bytes a round takes. */
export function sparseDelta(change: Readonly<Record<string, Float32Array>>, base: LoadedBlock, o: Pick<CandidateOptions, 'slot' | 'density' | 'maxRelativeNorm'>): { delta: ExpertDelta; bytes: Uint8Array<ArrayBuffer>; size: Candidate['size']; scaled: number } {
  const baseParams = slotParams(o.slot, base.payload);
  const bound = 0.9 * o.maxRelativeNorm * paramsNorm(baseParams);
  const sparse = (factor: number): ExpertDelta => {
    const tuned = Object.fromEntries(Object.entries(change).map(([name, d]) => {
      const w = baseParams[name];
      if (!w || w.length !== d.length) throw new Error(`the trained change has tensor ${name}, which ${o.slot.name} lacks`);
      return [name, w.map((v, i) => v + factor * d[i]!)];
    }));
    return sparsifyDelta(baseParams, tuned, o.density);
  };
  let scaled = 1;
  let delta = sparse(1);
  const norm = deltaNorm(delta);
  if (norm > bound) {
    scaled = bound / norm;
    delta = sparse(scaled);
  }
  if (delta.tensors.length === 0) throw new Error('training did not move the expert: nothing to submit');
  const bytes = encodeDelta(delta) as Uint8Array<ArrayBuffer>;
  return { delta, bytes, size: compression(delta, bytes.length), scaled };
}

/**
 * The contribution of a trained change against `base` (which may be a newer head than the one
 * trained from: a rebase applies the same change to it): int8 top-k sparse delta, the new expert
 * block the relay will append (author = account, prev = base, payload = expertCandidate, the same
 * bytes the relay derives), signed by the session key, as the POST /v1/contributions body.
 */
export async function buildCandidate(change: Readonly<Record<string, Float32Array>>, base: LoadedBlock, o: CandidateOptions): Promise<Candidate> {
  const { delta, bytes, size, scaled } = sparseDelta(change, base, o);
  const prev = blockHash(base.header);
  const block = await buildBlock(
    {
      type: 'expert',
      index: base.header.index + 1,
      name: o.slot.name,
      depends_on: [o.meta, prev],
      prev,
      payload: expertCandidate(o.slot, base.payload, delta, o.encoding),
      meta: { encoding: 'tensors-v1', shard: o.shard },
      created_at: o.now,
    },
    o.signer,
    o.account,
  );
  return { body: encodeBlock({ header: block.header, payload: bytes }) as Uint8Array<ArrayBuffer>, block: blockHash(block.header), size, scaled };
}

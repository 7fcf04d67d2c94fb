import { type ExpertEncoding, type SlotPlan, encodeSlotPayload, slotParams } from '@blyan/model/blocks';
import { applyDelta } from './apply.ts';
import { DeltaError, type ExpertDelta } from './types.ts';

/**
 * The payload of the expert block that `delta` makes of `basePayload`: the base decoded to f32,
 * the delta added, re-encoded as the model's meta block says (int8 re-quantizes every row). The
 * browser and the relay run this same function, so both derive the same bytes, and the block the
 * contributor signs commits to exactly what the relay evaluates.
 */
export function expertCandidate(slot: SlotPlan, basePayload: Uint8Array, delta: ExpertDelta, encoding: ExpertEncoding): Uint8Array {
  if (slot.type !== 'expert') throw new DeltaError('delta_mismatch', `slot ${slot.name} is a ${slot.type} slot; deltas apply to experts`);
  return encodeSlotPayload(slot, applyDelta(slotParams(slot, basePayload), delta), encoding);
}

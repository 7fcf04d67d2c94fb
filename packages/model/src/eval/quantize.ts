import { encodeSlotPayload, slotParams } from '../blocks/slot-payload.ts';
import { slotPlan } from '../blocks/slots.ts';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';

/**
 * The parameters with every expert weight as a client gets it from an int8 expert block: each
 * expert slot encoded as int8 (one scale per output row) and read back as f32. The rest is untouched.
 */
export function withInt8Experts(params: ParamMap, cfg: ModelConfig): ParamMap {
  const out: ParamMap = { ...params };
  for (const slot of slotPlan(cfg)) if (slot.type === 'expert') Object.assign(out, slotParams(slot, encodeSlotPayload(slot, params, 'int8')));
  return out;
}

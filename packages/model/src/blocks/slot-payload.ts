import { type TensorMap, decodeTensors, encodeTensors, quantizeInt8, toF32 } from '@blyan/block';
import type { ParamMap } from '../reference/arrays.ts';
import { sameShape } from '../reference/params.ts';
import type { ExpertEncoding } from './meta-payload.ts';
import type { ModelConfig } from '../reference/config.ts';
import { type SlotPlan, slotPlan } from './slots.ts';

/** A slot's payload: its f32 parameters as tensors-v1, experts int8 with one scale per output row unless `experts` is 'f32'. */
export function encodeSlotPayload(slot: SlotPlan, params: Readonly<ParamMap>, experts: ExpertEncoding): Uint8Array {
  const tensors: TensorMap = {};
  for (const { name, shape } of slot.tensors) {
    const data = params[name];
    if (!(data instanceof Float32Array)) throw new Error(`slot ${slot.name}: parameter "${name}" is missing or not f32`);
    tensors[name] = slot.type === 'expert' && experts === 'int8' ? quantizeInt8(data, [...shape]) : { dtype: 'f32', shape: [...shape], data };
  }
  return encodeTensors(tensors);
}

/**
 * The tensors of a slot's payload as zero-copy views (what the GPU engine uploads), checked to be
 * exactly the slot's parameters with their shapes; dense and router tensors must be f32.
 */
export function slotTensors(slot: SlotPlan, payload: Uint8Array): TensorMap {
  const where = `block ${slot.name}`;
  let tensors: TensorMap;
  try {
    ({ tensors } = decodeTensors(payload));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const names = new Set(slot.tensors.map((t) => t.name));
  for (const name of Object.keys(tensors)) if (!names.has(name)) throw new Error(`${where}: unexpected tensor "${name}"`);
  for (const { name, shape } of slot.tensors) {
    const t = tensors[name];
    if (t === undefined) throw new Error(`${where}: missing tensor "${name}"`);
    if (!sameShape(t.shape, shape)) throw new Error(`${where}: tensor "${name}" has shape [${t.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
    if (slot.type !== 'expert' && t.dtype !== 'f32') throw new Error(`${where}: tensor "${name}" is ${t.dtype}, ${slot.type} tensors must be f32`);
  }
  return tensors;
}

/** The slot's parameters as f32 (int8 experts multiplied out by their scales), for the CPU reference. */
export function slotParams(slot: SlotPlan, payload: Uint8Array): ParamMap {
  const tensors = slotTensors(slot, payload);
  const params: ParamMap = {};
  for (const { name } of slot.tensors) params[name] = toF32(tensors[name]!);
  return params;
}

/**
 * The whole model as a client holds it after loading its blocks: every slot's payload encoded as
 * the chain stores it, then read back as the GPU engine's tensors and the CPU reference's f32 params.
 */
export function throughBlocks(cfg: ModelConfig, params: Readonly<ParamMap>, experts: ExpertEncoding): { tensors: TensorMap; params: ParamMap } {
  const tensors: TensorMap = {};
  const decoded: ParamMap = {};
  for (const slot of slotPlan(cfg)) {
    const payload = encodeSlotPayload(slot, params, experts);
    Object.assign(tensors, slotTensors(slot, payload));
    Object.assign(decoded, slotParams(slot, payload));
  }
  return { tensors, params: decoded };
}

import type { Block, Hash } from '@blyan/block';
import type { MetaHeader, PayloadCheck } from '@blyan/chain';
import { type ExpertEncoding, type SlotPlan, parseMetaPayload, slotPlan, slotTensors } from '@blyan/model/blocks';
import { DATASET_ENCODING, decodeDatasetPayload } from '@blyan/data';
import type { ObjectStore } from './store/object-store.ts';

/** What a meta block's payload declares for each slot, or why it declares nothing. */
type Declared = { ok: true; slots: Map<string, SlotPlan>; experts: ExpertEncoding } | { ok: false; message: string };

const EXPERT_DTYPE: Record<ExpertEncoding, string> = { int8: 'i8', f32: 'f32' };

async function declared(objects: ObjectStore, meta: MetaHeader): Promise<Declared> {
  try {
    const payload = parseMetaPayload(await objects.read(meta.payload_hash));
    return { ok: true, slots: new Map(slotPlan(payload.config).map((s) => [s.name, s])), experts: payload.quantization.experts };
  } catch (e) {
    return { ok: false, message: `the meta block's payload declares no model tensors: ${(e as Error).message}` };
  }
}

/** The problem with a parameter payload, or null when it is exactly the slot's tensors, shapes and dtypes. */
function tensorProblem(d: Declared, block: Block): string | null {
  if (!d.ok) return d.message;
  const slot = d.slots.get(block.header.name);
  if (slot === undefined) return `the meta block's model has no slot ${block.header.name}`;
  try {
    const tensors = slotTensors(slot, block.payload);
    const want = EXPERT_DTYPE[d.experts];
    for (const [name, t] of Object.entries(tensors)) {
      if (slot.type === 'expert' && t.dtype !== want) return `block ${slot.name}: tensor "${name}" is ${t.dtype}, this model's experts are ${want}`;
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A dataset-v1 payload must inflate to documents each at its own address; text-utf8 must be UTF-8. */
function datasetProblem(block: Block): string | null {
  if (block.header.meta.encoding !== DATASET_ENCODING) return utf8Problem(block.payload);
  try {
    decodeDatasetPayload(block.payload);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function utf8Problem(payload: Uint8Array): string | null {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(payload);
    return null;
  } catch {
    return 'a dataset payload must be UTF-8 text';
  }
}

/**
 * The relay's payload rule (RuleOptions.checkPayload): a parameter block's payload must decode to
 * exactly the tensors, shapes and dtypes that its meta block's model declares for the slot, so no
 * block the model cannot load is accepted; a dataset payload must be a well-formed dataset-v1 payload (or UTF-8 text). Meta payloads are the
 * authorities' to get right. What each meta payload declares is read once and kept.
 */
export function slotShapes(objects: ObjectStore): PayloadCheck {
  const cache = new Map<Hash, Promise<Declared>>();
  return async (block, meta) => {
    const { header } = block;
    if (header.type === 'meta') return null;
    if (header.type === 'dataset') return datasetProblem(block);
    let d = cache.get(meta.payload_hash);
    if (d === undefined) cache.set(meta.payload_hash, (d = declared(objects, meta)));
    return tensorProblem(await d, block);
  };
}

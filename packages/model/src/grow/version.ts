import { type Hash, type TensorMap, decodeTensors, encodeTensors } from '@blyan/block';
import type { GenesisPayloads } from '../blocks/genesis.ts';
import { type GrowthRecord, type MetaPayload, encodeMetaPayload, parseMetaPayload } from '../blocks/meta-payload.ts';
import { slotPlan } from '../blocks/slots.ts';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import { expertTensorNames } from '../reference/params.ts';
import { mostRouted, routingCounts } from './counts.ts';
import { grownConfig } from './grow.ts';

/** The dataset a growth is for: its chain D slot name, its head block, and its public text as one token stream. */
export interface GrowthData {
  readonly name: string;
  readonly block: string;
  readonly stream: Int32Array;
}

/**
 * Plans a growth of `added` experts per layer for a dataset: per layer the experts the router picks
 * most on the dataset's public text (routingCounts over at most `maxWindows` windows) become the
 * sources of the new experts. Returns the record the grown meta payload carries, and the counts.
 */
export function planGrowth(cfg: ModelConfig, params: Readonly<ParamMap>, data: GrowthData, added: number, maxWindows = Infinity): { record: GrowthRecord; counts: number[][] } {
  const counts = routingCounts(params, cfg, data.stream, maxWindows);
  return { record: { dataset: data.name, datasetBlock: data.block, first: cfg.nExperts, sources: mostRouted(counts, added) }, counts };
}

/**
 * The grown model version's payloads, from the current version's (slot name → payload) and a growth
 * record: the meta payload with the grown config and the record appended to `growth`; every slot the
 * model had, byte for byte, except each router, which gets one zero f32 row per new expert; each new
 * expert the tensors of its source as stored (int8 bytes and scales, or f32), under its own names.
 * Decoded, the result is growModel's (grow.ts) parameters exactly. The grown meta payload is checked
 * as a client parses it (parseMetaPayload) before any slot is encoded, so a bad record (a dataset
 * block that is no hash, ragged or out-of-range sources) is refused with the parser's reason.
 */
export function grownPayloads(meta: MetaPayload, slots: ReadonlyMap<string, Uint8Array>, record: GrowthRecord): GenesisPayloads {
  const old = meta.config;
  if (record.first !== old.nExperts) throw new Error(`growth: the first new expert must be ${old.nExperts}, got ${record.first}`);
  const config = grownConfig(old, record.sources[0]?.length ?? 0);
  const grownMeta = encodeMetaPayload({ ...meta, config, growth: [...(meta.growth ?? []), record] });
  try {
    parseMetaPayload(grownMeta);
  } catch (e) {
    throw new Error(`growth: the record does not describe a valid growth: ${(e as Error).message}`);
  }
  const payload = (name: string): Uint8Array => {
    const bytes = slots.get(name);
    if (bytes === undefined) throw new Error(`growth: the current version has no block ${name}`);
    return bytes;
  };
  const out = slotPlan(config).map((slot) => {
    if (slot.type === 'router') return { slot, payload: grownRouter(payload(slot.name), slot.tensors[0]!.name, config.nExperts, config.dModel) };
    if (slot.type === 'expert' && slot.expert >= old.nExperts) {
      const source = record.sources[slot.layer]![slot.expert - old.nExperts]!;
      return { slot, payload: renamedExpert(payload(`layer${slot.layer}.expert${source}`), slot.layer, source, slot.expert) };
    }
    return { slot, payload: payload(slot.name) };
  });
  return { meta: grownMeta, slots: out };
}

function grownRouter(bytes: Uint8Array, name: string, experts: number, d: number): Uint8Array {
  const t = decodeTensors(bytes).tensors[name];
  if (t?.dtype !== 'f32') throw new Error(`growth: the router block holds no f32 tensor ${name}`);
  const data = new Float32Array(experts * d);
  data.set(t.data);
  return encodeTensors({ [name]: { dtype: 'f32', shape: [experts, d], data } });
}

function renamedExpert(bytes: Uint8Array, layer: number, from: number, to: number): Uint8Array {
  const { tensors } = decodeTensors(bytes);
  const [source, target] = [expertTensorNames(layer, from), expertTensorNames(layer, to)];
  const out: TensorMap = {};
  for (const w of ['w1', 'w3', 'w2'] as const) {
    const t = tensors[source[w]];
    if (t === undefined) throw new Error(`growth: block layer${layer}.expert${from} holds no ${source[w]}`);
    out[target[w]] = t;
  }
  return encodeTensors(out);
}

/**
 * What a growth appends to its model version (the grown meta payload continues it: archOf): each
 * router's next block, following its current head in `heads` (slot → hash and index), and each new
 * expert's first block. Every other slot keeps its head.
 */
export function growthPayloads(meta: MetaPayload, slots: ReadonlyMap<string, Uint8Array>, heads: ReadonlyMap<string, { readonly hash: Hash; readonly index: number }>, record: GrowthRecord): GenesisPayloads {
  const all = grownPayloads(meta, slots, record);
  const changed = all.slots.filter((s) => s.payload !== slots.get(s.slot.name));
  return {
    meta: all.meta,
    slots: changed.map((s) => {
      if (s.slot.type !== 'router') return s;
      const prev = heads.get(s.slot.name);
      if (prev === undefined) throw new Error(`growth: no current head for ${s.slot.name}`);
      return { ...s, prev };
    }),
  };
}

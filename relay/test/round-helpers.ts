import { type Hash, blockHash } from '@blyan/block';
import { encodeDelta, sparsifyDelta } from '@blyan/delta';
import { type ParamMap, Tokenizer } from '@blyan/model';
import { parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { evalStream } from '@blyan/model/eval';
import { corpusDocs } from '../src/corpus.ts';
import type { WorkUnit } from '../src/rounds/rounds.ts';
import type { Relay } from '../src/relay.ts';
import { type Fixture, TINY } from './helpers.ts';
import { trainExpert } from './train-expert.ts';

const plan = slotPlan(TINY);

/** The genesis model's parameters and the base expert of a work unit (on the fixture's genesis). */
export function unitModel(f: Pick<Fixture, 'genesis'>, unit: Pick<WorkUnit, 'slot' | 'base'>): { params: ParamMap; base: ParamMap } {
  const params: ParamMap = {};
  for (const b of f.genesis.slice(1)) Object.assign(params, slotParams(plan.find((s) => s.name === b.header.name)!, b.payload));
  const slot = plan.find((s) => s.name === unit.slot)!;
  return { params, base: slotParams(slot, f.genesis.find((b) => blockHash(b.header) === unit.base)!.payload) };
}

/** An honest contributor's delta: `unit.steps` AdamW steps of the unit's expert on its train shard, top-10 % int8. */
export async function honestDelta(f: Pick<Fixture, 'genesis'>, unit: WorkUnit): Promise<Uint8Array> {
  const tokenizer = Tokenizer.fromJSON(parseMetaPayload(f.genesis[0]!.payload).tokenizer);
  const docs = corpusDocs.train().slice(unit.shard.docs.from, unit.shard.docs.to);
  const { params, base } = unitModel(f, unit);
  const tuned = await trainExpert(TINY, params, plan.find((s) => s.name === unit.slot)!, evalStream(tokenizer, docs.map((d) => d.text)), { steps: unit.steps, B: 8, lr: 1e-2, stride: 7919, threads: 1 });
  return encodeDelta(sparsifyDelta(base, tuned, 0.1));
}

/** The model a unit trains, read from the relay: every slot at its head under the unit's meta block, and the unit's base expert (genesis or not). */
async function headModel(relay: Pick<Relay, 'index' | 'objects'>, unit: Pick<WorkUnit, 'meta' | 'slot' | 'base'>): Promise<{ params: ParamMap; base: ParamMap }> {
  const slotOf = async (slot: (typeof plan)[number], hash: Hash) => slotParams(slot, await relay.objects.read((await relay.index.block(hash))!.header.payload_hash));
  const heads = await relay.index.paramIndexAt(unit.meta);
  const params: ParamMap = {};
  for (const slot of plan) Object.assign(params, await slotOf(slot, heads[slot.name]!));
  return { params, base: await slotOf(plan.find((s) => s.name === unit.slot)!, unit.base) };
}

/** A contributor's delta on `texts` (a dataset unit's shard): `unit.steps` AdamW steps of the unit's expert from the relay's heads, top-10 % int8. */
export async function shardDelta(relay: Pick<Relay, 'index' | 'objects'>, unit: WorkUnit, texts: readonly string[]): Promise<Uint8Array> {
  const tokenizer = Tokenizer.fromJSON(parseMetaPayload((await relay.objects.read((await relay.index.block(unit.meta))!.header.payload_hash))).tokenizer);
  const { params, base } = await headModel(relay, unit);
  const tuned = await trainExpert(TINY, params, plan.find((s) => s.name === unit.slot)!, evalStream(tokenizer, texts), { steps: unit.steps, B: 8, lr: 1e-2, stride: 7919, threads: 1 });
  return encodeDelta(sparsifyDelta(base, tuned, 0.1));
}

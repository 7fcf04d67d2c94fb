import { type BlockHeader, blockHash, verifyPayload, verifySignature } from '@blyan/block';
import { DeltaError, compression, decodeDelta, deltaNorm, expertCandidate, paramsNorm } from '@blyan/delta';
import { slotParams } from '@blyan/model/blocks';
import type { AuthStore, Delegation } from '../auth/auth-store.ts';
import { decodeWireBlock } from '../server/wire-block.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { AccountsConfig } from './config.ts';
import type { EvalContext, HiddenEvaluator } from './hidden-eval.ts';
import { type Refusal, refuse } from './refusal.ts';
import type { NewContribution } from './store.ts';

export interface IntakeDeps {
  readonly index: IndexStore;
  readonly objects: ObjectStore;
  readonly auth: AuthStore;
  readonly evaluator: HiddenEvaluator;
  readonly config: AccountsConfig;
}

/** The train shard a contribution block says it was trained on: its header's `meta.shard`. */
const shardOf = (h: BlockHeader): number | null => {
  const shard = h.meta.shard;
  return typeof shard === 'number' && Number.isSafeInteger(shard) && shard >= 0 ? shard : null;
};

/** The most entries a delta may change: ⌈density · size⌉ of each tensor, as sparsifyDelta keeps at that density. */
const maxEntries = (params: Readonly<Record<string, Float32Array>>, density: number): number =>
  Object.values(params).reduce((n, t) => n + Math.ceil(density * t.length), 0);

/**
 * Checks a contribution body before it is queued: `[u32 LE n][block header JSON][blyan-delta-v1]`.
 * The header is the new expert block, authored by the signed-in account and signed by its session
 * key, with `prev` = the base block; its payload commitments must be those of base + delta, so
 * one signature covers base, slot and delta. A malformed body throws ApiError 400 malformed_block.
 * Nothing is written here.
 */
export async function checkContribution(d: IntakeDeps, session: Delegation, body: Uint8Array): Promise<(NewContribution & { ok: true }) | Refusal> {
  const block = decodeWireBlock(body);
  const h = block.header;
  if (h.type !== 'expert') return refuse(422, 'not_expert', `contributions replace expert blocks, this is a ${h.type} block`);
  const shard = shardOf(h);
  if (shard === null) return refuse(422, 'no_shard', 'the block must name the train shard it was trained on (header meta.shard, from the assignment)');
  if (h.author !== session.account) return refuse(403, 'wrong_author', `the block's author ${h.author} is not the signed-in account ${session.account}`);
  const sig = await verifySignature(h, d.auth.isDelegate);
  if (!sig.ok) return refuse(403, sig.code === 'bad_signature' ? 'bad_signature' : 'undelegated_key', sig.message);
  const meta = await d.index.metaHead();
  if (meta === null || !h.depends_on.includes(meta)) return refuse(409, 'stale_meta', `contributions build on the meta head ${meta}`);
  const version = (await d.index.versionOf(meta))!;
  const head = (await d.index.paramIndex(version))[h.name] ?? null;
  if (head === null) return refuse(422, 'unknown_slot', `the model has no expert slot ${h.name}`);
  if (h.prev !== head) return refuse(409, 'stale_base', `the head of ${h.name} is ${head}, the delta is against ${h.prev}; rebase and resubmit`, head);
  let ctx: EvalContext;
  try {
    ctx = await d.evaluator.context(meta);
  } catch (e) {
    return refuse(503, 'evaluator_unavailable', `contributions cannot be judged: ${(e as Error).message}`);
  }
  const slot = ctx.plan.get(h.name)!;
  const basePayload = await d.objects.read((await d.index.block(head))!.header.payload_hash);
  try {
    const delta = decodeDelta(block.payload);
    const { entries, rawBytes } = compression(delta, block.payload.length);
    const baseParams = slotParams(slot, basePayload);
    const allowed = maxEntries(baseParams, d.config.maxDensity);
    if (entries > allowed) {
      return refuse(422, 'too_dense', `the delta changes ${entries} entries of the expert; at most ${allowed} (${d.config.maxDensity * 100} % of each tensor) may change`);
    }
    const candidate = expertCandidate(slot, basePayload, delta, ctx.payload.quantization.experts);
    const norm = deltaNorm(delta);
    const bound = d.config.maxRelativeNorm * paramsNorm(baseParams);
    if (norm > bound) return refuse(422, 'over_norm', `‖Δ‖ = ${norm.toPrecision(4)} exceeds ${d.config.maxRelativeNorm} × ‖W‖ = ${bound.toPrecision(4)}`);
    const committed = verifyPayload(h, candidate);
    if (!committed.ok) return refuse(422, 'payload_mismatch', `the signed block does not commit to base + delta: ${committed.message}`);
    return {
      ok: true,
      account: session.account,
      signer: sig.signer,
      header: { ...h, prev: head },
      meta,
      block: blockHash(h),
      shard,
      delta: block.payload,
      rawBytes,
      deltaNorm: norm,
    };
  } catch (e) {
    if (e instanceof DeltaError) return refuse(e.code === 'malformed_delta' ? 400 : 422, e.code, e.message);
    throw e;
  }
}

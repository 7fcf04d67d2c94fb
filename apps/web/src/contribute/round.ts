import { type Address, type Hash, type Signer, blockHash } from '@blyan/block';
import type { AccountsClient, Assignment, ContributionView, RelayClient } from '@blyan/client';
import { evalStream } from '@blyan/model/eval';
import { ShardBatches } from './batches.ts';
import { buildCandidate } from './candidate.ts';
import { cpuTrainer } from './cpu-trainer.ts';
import type { ExpertTrainer } from './expert-trainer.ts';
import { FrozenModel, type LoadedBlock } from './frozen-model.ts';
import type { TrainingGate } from './gate.ts';
import { gpuTrainer } from './gpu-trainer.ts';
import type { ContributeSettings, FromContributor, SubmissionView } from './protocol.ts';

export interface RoundContext {
  relay: RelayClient;
  /** The genesis meta block this build trusts: the model trained on must descend from it. */
  pin: Hash;
  /** The signed genesis headers shipped beside the pin (see Lineage). */
  genesisHeaders?: readonly unknown[];
  accounts: AccountsClient;
  /** null: train on the CPU reference. */
  device: GPUDevice | null;
  signer: Signer;
  account: Address;
  settings: ContributeSettings;
  gate: TrainingGate;
  post(m: FromContributor): void;
  /** The model of the last round, reused while the meta block is the same. */
  model: FrozenModel | null;
}

const MAX_REBASES = 3;
const POLL_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One contribution: take an assignment, fetch its shard and the frozen model, run the micro-steps
 * the gate allows, and submit the delta (rebasing on a newer head, waiting out a rate limit) until
 * the relay's verdict. Returns false when contributing was switched off mid-round (during training
 * nothing is submitted; during a rate-limit wait the pending delta is dropped).
 */
export async function contributeRound(ctx: RoundContext, round: number): Promise<boolean> {
  const { accounts, settings: s, post } = ctx;
  post({ type: 'status', text: 'asking the relay for an assignment' });
  const a = await accounts.assignment();
  post({ type: 'assignment', round, assignment: a });
  const model = ctx.model?.meta === a.meta ? ctx.model : await FrozenModel.open(ctx.relay, a.meta, ctx.pin, ctx.genesisHeaders);
  ctx.model = model;
  await model.refresh();
  const slot = model.plan(a.slot);
  if (slot.type !== 'expert') throw new Error(`the relay assigned ${a.slot}, which is not an expert slot`);
  post({ type: 'status', text: `fetching shard ${a.shard.index} and the frozen model` });
  const shard = await accounts.shard(a);
  const seqLen = Math.min(s.seqLen, model.config.contextLength);
  const batches = new ShardBatches(evalStream(model.tokenizer, shard.docs.map((d) => d.text)), s.batch, seqLen);
  const base = await model.block(a.base, a.slot);
  const train = { batch: s.batch, seqLen, adamw: { lr: s.lr } };
  post({ type: 'status', text: `preparing to train ${a.slot}: setting up the trainer` });
  const trainer: ExpertTrainer = ctx.device ? await gpuTrainer(ctx.device, model, slot.layer, slot.expert, base, train) : await cpuTrainer(model, slot.layer, slot.expert, base, train);
  let change: Record<string, Float32Array>;
  try {
    for (let step = 0; step < s.steps; step++) {
      if (!(await ctx.gate.turn())) return false;
      const on = trainer.backend === 'webgpu' ? 'WebGPU' : 'the CPU reference';
      post({ type: 'status', text: step === 0 ? `preparing to train ${a.slot} on ${on}: the first micro-step of ${s.steps} also sets up the trainer, so it takes longest` : `training ${a.slot} on ${on}: micro-step ${step + 1} of ${s.steps}` });
      const { inputs, targets } = batches.at(round * s.steps + step);
      const t0 = performance.now();
      const loss = await trainer.microStep(inputs, targets);
      post({ type: 'step', round, step, loss, ms: performance.now() - t0, tokens: inputs.length });
    }
    change = await trainer.change();
  } finally {
    trainer.destroy();
  }

  const queued = await submit(ctx, round, a, model, change, base);
  if (queued === null) return false;
  await verdict(ctx, queued);
  return true;
}

/**
 * Signs and posts the contribution of `change` on `base`; on a stale base applies the same change
 * to the head the relay names and signs again, on a rate limit waits. Returns the queued
 * submission, or null when contributing was switched off while waiting.
 */
async function submit(ctx: RoundContext, round: number, a: Assignment, model: FrozenModel, change: Record<string, Float32Array>, base: LoadedBlock): Promise<SubmissionView | null> {
  const slot = model.plan(a.slot);
  for (let rebases = 0; ; ) {
    ctx.post({ type: 'status', text: `signing and submitting the delta for ${a.slot}` });
    const c = await buildCandidate(change, base, {
      meta: a.meta,
      slot,
      shard: a.shard.index,
      encoding: model.payload.quantization.experts,
      density: Math.min(ctx.settings.density, a.rules.max_density),
      maxRelativeNorm: a.rules.max_relative_norm,
      signer: ctx.signer,
      account: ctx.account,
      now: Date.now(),
    });
    const view: SubmissionView = { round, slot: a.slot, block: c.block, base: blockHash(base.header), id: null, state: 'submitting', rebases, size: c.size, improvement: null, reason: null, code: null, figures: null, credit: null };
    ctx.post({ type: 'submission', submission: view });
    const sent = await ctx.accounts.submit(c.body);
    if (sent.kind === 'queued') {
      const queued: SubmissionView = { ...view, id: sent.id, state: 'queued' };
      ctx.post({ type: 'submission', submission: queued });
      return queued;
    }
    if (sent.kind === 'rate_limited') {
      ctx.post({ type: 'status', text: `rate limited: waiting ${Math.round(sent.retryAfterMs / 1000)} s` });
      await sleep(sent.retryAfterMs);
      if (ctx.gate.paused === 'off') return null;
      continue;
    }
    if (++rebases > MAX_REBASES) throw new Error(`${a.slot} moved on ${MAX_REBASES} times while submitting; giving up this round`);
    ctx.post({ type: 'status', text: `${a.slot} has a newer head: rebasing` });
    base = await model.block(sent.head, a.slot);
  }
}

/** Polls the relay until it accepts or rejects the submission, posting each change of state. */
async function verdict(ctx: RoundContext, queued: SubmissionView): Promise<void> {
  ctx.post({ type: 'status', text: `the relay is evaluating contribution ${queued.id}` });
  let view = queued;
  for (;;) {
    await sleep(POLL_MS);
    const v: ContributionView = await ctx.accounts.contribution(queued.id!);
    const next: SubmissionView = { ...view, state: v.status, improvement: v.figures?.improvement ?? null, reason: v.reason === null ? null : `${v.reason}${v.detail ? `: ${v.detail}` : ''}`, code: v.reason, figures: v.figures, credit: v.credit };
    if (next.state !== view.state) ctx.post({ type: 'submission', submission: next });
    view = next;
    if (v.status === 'accepted' || v.status === 'rejected') return;
  }
}
